"""The Chroma store: embedded on disk by default, or a Chroma server when a URL is given.

Chroma has no transactions, so a report becomes visible through a manifest row that is written
only after all of its chunks are in place (the commit point). Chunks of any other version are
invisible to readers and are swept up by the next writer.

Embedded Chroma keeps a store's vector index in memory, per process: a process that stays up
(the bot) while another one (`reportbot ingest`) writes would go on serving the index as it
was, and fail to read rows that are gone. So every commit also appends a line to
`DATA_DIR/store-generation`, and a store opened with `ReportStore.open` compares that file's
stat with the one its client started from before each read, reopening the client when another
process committed meanwhile (see `ReportStore.sync`). Writers hold the data folder's write lock
(store.write_lock, see `ReportStore.writing`), one at a time.

Longer than 400 lines on purpose: the commit protocol (chunks, manifest row, cleanup), the
generation file and the client reopening are one contract with Chroma, and a reader must see all of
it to trust it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import GetResult
from chromadb.errors import InternalError, NotFoundError

from store.models import StoreStats
from store.recent_versions import RecentVersions
from store.records import Chunk, ReportEntry, store_stats
from store.server_lease import DEFAULT_TTL, ServerLease
from store.translation import TranslationMismatchError, TranslationRow
from store.write_lock import write_lock

log = logging.getLogger(__name__)

# Bump when the chunk layout or metadata changes in a way old stores cannot serve.
SCHEMA_VERSION = 1
# How often a read that raced another process's write is tried (see _get_retrying).
_READ_RETRIES = 6
# How often opening a collection meets another process's SQLite write lock before giving up
# (waits 0.05 s, doubling: about 6 s in all).
_LOCKED_RETRIES = 8
# How often committed_chunks re-reads reports a writer moved while it was reading.
_REPORTS_PER_READ = 25
_SNAPSHOT_ROUNDS = 20
# In the data folder: one line appended per commit (see ReportStore.sync).
GENERATION_FILE = "store-generation"
# Past this size the generation file is started afresh (a new file: its stat still changes).
_GENERATION_MAX_BYTES = 1_000_000

# The stat of the generation file: (inode, size, modification time), None if there is none.
Generation = tuple[int, int, int] | None
_P = ParamSpec("_P")
_R = TypeVar("_R")


class StoreBusyError(RuntimeError):
    """Embedded Chroma cannot serve vectors another process has not flushed yet (mid-ingest);
    read again later."""


class StoreMismatchError(RuntimeError):
    """The store on disk was written by another schema or embedding model."""


class StoreOpenError(RuntimeError):
    """The store cannot be opened: a damaged or emptied database file, a data folder that cannot
    be made, a Chroma server that does not answer. The message is one line and says what to do."""


# What every SQLite database file starts with.
_SQLITE_MAGIC = b"SQLite format 3\x00"


def open_client(data_dir: Path, chroma_url: str | None = None) -> ClientAPI:
    """A Chroma server when `chroma_url` is set (`chroma run` starts one), else on-disk.

    Raises StoreOpenError rather than letting Chroma re-create an emptied database file as an
    empty store (which looks like "0 reports") or fail with a page of traceback."""
    if chroma_url:
        url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        try:
            return chromadb.HttpClient(
                host=url.hostname or "localhost",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
            )
        except Exception as exc:
            raise StoreOpenError(
                f"the Chroma server at {chroma_url} does not answer ({_one_line(exc)}): start it "
                "(`chroma run --path DIR`) or fix REPORTBOT_CHROMA_URL"
            ) from exc
    database = data_dir / "chroma" / "chroma.sqlite3"
    _check_database(database)
    path = data_dir / "chroma"
    if database.is_file() and not _writable(path):
        # Chroma writes on open even to read; a read-only folder (a read-only mount, a backup
        # volume) is read through a private copy, and only writes are refused (write_lock).
        path = _read_only_copy(path)
        log.info("the data folder %s is read-only: answering from a copy in %s", data_dir, path)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path))
    except OSError as exc:
        raise StoreOpenError(
            f"cannot use the data folder {data_dir}: {exc.strerror or exc}"
        ) from exc
    except Exception as exc:
        raise StoreOpenError(
            f"the store {database} cannot be opened ({_one_line(exc)}): it is damaged; restore a "
            "backup (`reportbot import FILE --force`) or move the data folder away and ingest "
            "the reports again"
        ) from exc


def _writable(folder: Path) -> bool:
    """Can files be created in `folder`? (Tried, not os.access: root passes os.access on a
    read-only mount.)"""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _read_only_copy(folder: Path) -> Path:
    """A private copy of a Chroma folder that cannot be written, removed when the process ends.
    SQLite is read as an immutable file (no lock or journal files to create)."""
    copy = Path(tempfile.mkdtemp(prefix="reportbot-readonly-"))
    atexit.register(shutil.rmtree, copy, True)
    for entry in folder.iterdir():
        if entry.name == "chroma.sqlite3":
            source = sqlite3.connect(f"{entry.resolve().as_uri()}?immutable=1", uri=True)
            target = sqlite3.connect(copy / entry.name)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        elif entry.name.startswith("chroma.sqlite3"):
            continue  # its journal: inside the backup above
        elif entry.is_dir():
            shutil.copytree(entry, copy / entry.name)
        else:
            shutil.copy2(entry, copy / entry.name)
    return copy


def _check_database(database: Path) -> None:
    try:
        with database.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return  # a new store
    except OSError as exc:
        raise StoreOpenError(f"cannot read the store {database}: {exc.strerror or exc}") from exc
    if not head:
        raise StoreOpenError(
            f"the store {database} is empty (0 bytes), not a new store: restore a backup "
            "(`reportbot import FILE --force`) or delete the file and ingest the reports again"
        )
    if head != _SQLITE_MAGIC:
        raise StoreOpenError(
            f"the store {database} is not a SQLite database (damaged): restore a backup "
            "(`reportbot import FILE --force`) or move the data folder away and ingest again"
        )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def read_generation(data_dir: Path | None) -> Generation:
    """Where the data folder's store is at: changes with every commit (one stat call)."""
    if data_dir is None:
        return None
    try:
        info = os.stat(data_dir / GENERATION_FILE)
    except FileNotFoundError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def read_changes(data_dir: Path | None, since: Generation) -> list[str] | None:
    """The changes recorded after the generation `since`, oldest first, each as written ("commit
    RID VERSION", "cleanup RID", ...); None when they cannot be told apart from the file (no
    generation, or the file was replaced or shortened since: start again from the store)."""
    if data_dir is None or since is None:
        return None
    try:
        with open(data_dir / GENERATION_FILE, "rb") as handle:
            info = os.fstat(handle.fileno())
            # A replaced file can get the old inode number back, but not a longer past.
            if info.st_ino != since[0] or info.st_size < since[1]:
                return None
            handle.seek(since[1])
            tail = handle.read()
    except OSError:
        return None
    # A line being appended right now is left for the next read (its generation comes later).
    lines = tail.decode("utf-8", "replace").split("\n")[:-1]
    out: list[str] = []
    for line in lines:
        parts = line.split(" ", 2)  # time, pid, what
        if len(parts) != 3:
            return None
        out.append(parts[2])
    return out


def record_change(data_dir: Path, what: str) -> bool:
    """Append a line to the data folder's generation file, so that every reader (a running bot,
    the saved read indexes) sees that the store changed. False if it could not be written: the
    change stands; only other processes notice it later."""
    path = data_dir / GENERATION_FILE
    line = f"{time.time():.6f} {os.getpid()} {what}\n"
    try:
        if path.exists() and path.stat().st_size > _GENERATION_MAX_BYTES:
            partial = path.with_name(f"{GENERATION_FILE}.{os.getpid()}.partial")
            partial.write_text(line, encoding="utf-8")
            os.replace(partial, path)
        else:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(line)
    except OSError as err:
        log.warning("could not record the change in %s: %s", path, err)
        return False
    return True


def _is_server(client: ClientAPI) -> bool:
    """Does the client talk to a Chroma server (HttpClient), which other processes, data folders
    and machines may write to as well?"""
    try:
        return "fastapi" in client.get_settings().chroma_api_impl.lower()
    except Exception:
        return False


def _embedded_data_dir(client: ClientAPI) -> Path | None:
    """The folder holding an embedded client's Chroma folder (open_client's data folder)."""
    try:
        settings = client.get_settings()
    except Exception:  # a client without settings: nothing on disk to follow
        return None
    if settings.is_persistent and settings.persist_directory:
        return Path(settings.persist_directory).parent
    return None


class _Gate:
    """Many threads may use the client at once; a reopen waits until none does and holds new
    users off meanwhile. A thread already using it goes on (reads nest: committed_chunks calls
    reports)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._users = 0
        self._reopening = False
        self._depth = threading.local()

    def held(self) -> bool:
        return getattr(self._depth, "n", 0) > 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        depth = getattr(self._depth, "n", 0)
        if depth == 0:
            with self._cond:
                while self._reopening:
                    self._cond.wait()
                self._users += 1
        self._depth.n = depth + 1
        try:
            yield
        finally:
            self._depth.n = depth
            if depth == 0:
                with self._cond:
                    self._users -= 1
                    self._cond.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._cond:
            while self._reopening:
                self._cond.wait()
            self._reopening = True
            while self._users:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._reopening = False
                self._cond.notify_all()


def _uses_client(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """For the methods that talk to Chroma: catch up with other processes' commits first (a
    stat call), then run while no reopen can swap the client."""

    @functools.wraps(method)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        store = args[0]
        assert isinstance(store, ReportStore)
        store.sync()
        with store._gate.shared():
            return method(*args, **kwargs)

    return run


class ReportStore:
    def __init__(
        self,
        client: ClientAPI,
        collection: str,
        embedding_model: str,
        data_dir: Path | None = None,
        opener: Callable[[], ClientAPI] | None = None,
    ) -> None:
        """`data_dir` (for the generation file and the write lock) defaults to the folder an
        embedded client's Chroma folder is in. Given an `opener`, the store owns its client:
        `sync` replaces it with a new one when another process committed (use `open`); else
        the client is the caller's, and is never reopened."""
        self.client = client
        self.embedding_model = embedding_model
        self.collection = collection
        self.data_dir = data_dir if data_dir is not None else _embedded_data_dir(client)
        self._opener = opener
        self._embedded = _embedded_data_dir(client) is not None
        # How long a Chroma server's write lease outlives a writer that stopped renewing it.
        self.lease_ttl = DEFAULT_TTL
        self._gate = _Gate()
        self._seen = read_generation(self.data_dir)  # before anything is read
        # Only for a store on this machine's disk: a Chroma server has writers elsewhere.
        self.recent = (
            RecentVersions.of(self.data_dir, collection, embedding_model)
            if self._embedded and self.data_dir is not None
            else None
        )
        self.chunks = self._open(collection)
        self.manifest = self._open(f"{collection}_reports")

    @classmethod
    def open(
        cls, data_dir: Path, collection: str, embedding_model: str, chroma_url: str | None = None
    ) -> ReportStore:
        """A store on a client of its own (open_client), which it reopens to follow other
        processes' commits. `close()` it when done."""
        seen = read_generation(data_dir)  # before the client starts reading the disk
        # Creating the store is a write: two processes creating it at once (two ingests into a
        # new data folder) race in Chroma's own schema setup ("table ... already exists").
        fresh = chroma_url is None and not (data_dir / "chroma" / "chroma.sqlite3").is_file()
        with write_lock(data_dir) if fresh else contextlib.nullcontext():
            store = cls(
                open_client(data_dir, chroma_url),
                collection,
                embedding_model,
                data_dir=data_dir,
                opener=lambda: open_client(data_dir, chroma_url),
            )
        store._seen = seen
        return store

    def close(self) -> None:
        """Close the client if the store opened it."""
        if self._opener is not None:
            self.client.close()

    # ---- other processes ----------------------------------------------------------------------

    @property
    def embedded(self) -> bool:
        """Is this store on a data folder of this machine (whose generation file every writer
        updates), not a Chroma server that writers elsewhere may change?"""
        return self._embedded

    def generation(self) -> Generation:
        """Where the store on disk is at: compare two to know whether anything was committed in
        between, by any process (a stat call)."""
        return read_generation(self.data_dir)

    def sync(self) -> None:
        """Catch up with what other processes committed: if the generation file moved since
        the client last read the disk, reopen the client, whose in-memory index (embedded
        Chroma) would serve the old rows. A stat call when nothing changed. A no-op inside a
        read in progress on this thread (it finishes on the client it started with), and for
        a client the store does not own or a Chroma server (one index for every process)."""
        now = read_generation(self.data_dir)
        if now == self._seen or self._gate.held():
            return
        if self._opener is None or not self._embedded:
            self._seen = now
            return
        with self._gate.alone():
            now = read_generation(self.data_dir)
            if now == self._seen:
                return  # another thread reopened it meanwhile
            # Closed first: clients of one path share one in-memory store until the last closes.
            self.client.close()
            self.client = self._opener()
            self.chunks = self._open(self.collection)
            self.manifest = self._open(f"{self.collection}_reports")
            self._seen = now
            log.info("the store changed on disk; reopened it")

    @contextmanager
    def writing(
        self, wait: bool = True, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """Hold the data folder's write lock (store.write_lock) and, on a Chroma server, the
        server's write lease (store.server_lease: writers from other data folders or machines
        share the server), and catch up with what other writers committed before it was ours."""
        with contextlib.ExitStack() as held:
            if self.data_dir is not None:
                held.enter_context(write_lock(self.data_dir, wait, on_wait))
            if _is_server(self.client):
                lease = ServerLease(self.client, self.collection, ttl=self.lease_ttl)
                held.enter_context(lease.held(wait, on_wait))
            self.sync()
            yield

    def _committed(self, what: str) -> None:
        """Record a commit in the generation file, for the readers in other processes. This
        process's client made the change itself, so it stays current (unless another process
        had committed before, unseen: then the next sync still reopens it)."""
        if self.data_dir is None:
            return
        before = read_generation(self.data_dir)
        if not record_change(self.data_dir, what):
            return
        if before == self._seen:
            self._seen = read_generation(self.data_dir)

    def _open(self, name: str) -> Collection:
        col = self._collection_retrying(name)
        found = dict(col.metadata or {})
        if found.get("schema_version") != SCHEMA_VERSION:
            raise StoreMismatchError(
                f"the store was written by schema version {found.get('schema_version')}, this "
                f"reportbot uses {SCHEMA_VERSION}: rebuild it with `reportbot reindex`"
            )
        # Only the model is recorded, not the precision that embedded the passages
        # (REPORTBOT_INGEST_EMBEDDING): int8 passage vectors stay in the float32 model's space
        # (cosine >= 0.99 to float32; questions are float32 either way) and moved
        # query-passage scores by 0.003 on average (+0.0016 net), which moved `reportbot eval`
        # by at most 2 questions a set (see benchmarks/README.md, "Ingest paths"). A store
        # mixing the two (a bulk import in int8, the bot's uploads in float32) is the intended
        # use; refusing it would force a reindex for a difference of that size. Whoever wants
        # one precision throughout reindexes with the setting they want.
        if found.get("embedding_model") != self.embedding_model:
            raise StoreMismatchError(
                f"the store was embedded with model {found.get('embedding_model')!r}, not "
                f"{self.embedding_model!r}; vectors of two models cannot be compared. Use the "
                "old model setting, or rebuild with `reportbot reindex`"
            )
        return col

    def _collection_retrying(self, name: str) -> Collection:
        """The collection, created if missing. Only reads when it exists (a process opening the
        store, or reopening it, beside an ingest that writes), and tries again when it meets
        another process's SQLite write lock (two ingests starting at once both create it)."""
        wanted = {"schema_version": SCHEMA_VERSION, "embedding_model": self.embedding_model}
        for attempt in range(_LOCKED_RETRIES):
            try:
                try:
                    return self.client.get_collection(name, embedding_function=None)
                except NotFoundError:
                    return self.client.get_or_create_collection(
                        name,
                        metadata=wanted,
                        configuration={"hnsw": {"space": "cosine"}},
                        embedding_function=None,
                    )
            except InternalError as err:
                if "locked" not in str(err) or attempt == _LOCKED_RETRIES - 1:
                    raise
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def describe(self) -> str:
        return f"chroma collection {self.chunks.name!r}"

    @_uses_client
    def stats(self) -> StoreStats:
        """What the store holds, from its manifest (committed reports only)."""
        return store_stats(
            self.reports().values(),
            chunks=self.chunks.count(),
            translations=self._translations().count() if self._has_translations() else 0,
            embedding_model=self.embedding_model,
            store=self.describe(),
        )

    # ---- manifest -------------------------------------------------------------------------

    @_uses_client
    def reports(self) -> dict[str, ReportEntry]:
        rows = self.manifest.get(include=["metadatas"])
        return {
            rid: ReportEntry.from_metadata(rid, meta)
            for rid, meta in zip(rows["ids"], rows["metadatas"] or [], strict=True)
        }

    @_uses_client
    def report_count(self) -> int:
        """How many reports are committed: one count, 1 ms at 7,750 reports where reading
        their manifest rows (reports()) took 0.8 s."""
        return self.manifest.count()

    @_uses_client
    def entries(self, report_ids: Iterable[str]) -> dict[str, ReportEntry]:
        """The manifest rows of these reports (those that have one)."""
        wanted = sorted(set(report_ids))
        if not wanted:
            return {}
        rows = self.manifest.get(ids=wanted, include=["metadatas"])
        return {
            rid: ReportEntry.from_metadata(rid, meta)
            for rid, meta in zip(rows["ids"], rows["metadatas"] or [], strict=True)
        }

    def changes_since(self, generation: Generation) -> list[str] | None:
        """What was committed after `generation`, as recorded (see read_changes)."""
        return read_changes(self.data_dir, generation)

    @_uses_client
    def save_entry(self, entry: ReportEntry) -> None:
        self.manifest.upsert(
            ids=[entry.report_id],
            embeddings=[[1.0]],
            documents=[entry.title],
            metadatas=[entry.to_metadata()],
        )
        self._committed(f"commit {entry.report_id} {entry.version}")

    # ---- writing ----------------------------------------------------------------------------

    @_uses_client
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
        if self.recent is not None and chunks:
            # As Chroma returns them, not as given: it normalises the vectors it keeps (the
            # last bits differ), and a reader must get what a read of the store would give.
            kept = self.chunks.get(ids=[c.id for c in chunks], include=["embeddings"])
            by_id = dict(zip(kept["ids"], kept["embeddings"], strict=True))
            self.recent.write(
                entry, chunks, np.asarray([by_id[c.id] for c in chunks], dtype=np.float32)
            )
        self.save_entry(entry)
        if self.recent is not None:
            self.recent.prune()
        self.chunks.delete(
            where={"$and": [{"report_id": entry.report_id}, {"version": {"$ne": entry.version}}]}
        )
        # Again: readers that reopened at the commit have not seen the old rows go.
        self._committed(f"cleanup {entry.report_id}")

    # ---- machine translations (store.translation) ------------------------------------------------

    def _translations(self) -> Collection:
        return self.client.get_or_create_collection(
            f"{self.collection}_translations", embedding_function=None
        )

    def _has_translations(self) -> bool:
        wanted = f"{self.collection}_translations"
        return any(c.name == wanted for c in self.client.list_collections())

    @_uses_client
    def translations(self) -> dict[str, TranslationRow]:
        """Every stored translation by its id (store.translation.translation_id)."""
        if not self._has_translations():
            return {}
        rows = self._translations().get(include=["documents", "metadatas"])
        out: dict[str, TranslationRow] = {}
        for tid, text, meta in zip(
            rows["ids"], rows["documents"] or [], rows["metadatas"] or [], strict=True
        ):
            out[tid] = TranslationRow(
                report_id=str(meta["report_id"]),
                version=str(meta["version"]),
                position=int(meta["position"]),
                lang=str(meta["lang"]),
                text=text,
                model=str(meta["model"]),
            )
        return out

    @_uses_client
    def translation_model(self) -> str | None:
        """The model the store's translations were made by (None: there are none)."""
        if not self._has_translations():
            return None
        rows = self._translations().get(limit=1, include=["metadatas"])
        return str(rows["metadatas"][0]["model"]) if rows["metadatas"] else None

    @_uses_client
    def save_translations(self, rows: Sequence[TranslationRow]) -> None:
        """Store translations; all of a store's translations come from one model."""
        if not rows:
            return
        model = rows[0].model
        current = self.translation_model()
        if current is not None and current != model:
            raise TranslationMismatchError(
                f"the store's translations were made by {current!r}, not {model!r}: set "
                f"REPORTBOT_TRANSLATION_MODEL={current}, or translate again with "
                "`reportbot translate --redo`"
            )
        col = self._translations()
        for start in range(0, len(rows), 1000):
            part = rows[start : start + 1000]
            col.upsert(
                ids=[r.id for r in part],
                embeddings=[[1.0]] * len(part),
                documents=[r.text for r in part],
                metadatas=[r.model_dump(exclude={"text"}) for r in part],
            )
        self._committed(f"translations {len(rows)}")

    @_uses_client
    def drop_translations(self, stale_only: bool = False) -> int:
        """Delete the translations of report versions no longer committed (or all of them)."""
        if not self._has_translations():
            return 0
        if not stale_only:
            count = self._translations().count()
            self.client.delete_collection(f"{self.collection}_translations")
            self._committed("translations dropped")
            return count
        committed = {rid: e.version for rid, e in self.reports().items()}
        rows = self._translations().get(include=["metadatas"])
        stale = [
            tid
            for tid, meta in zip(rows["ids"], rows["metadatas"] or [], strict=True)
            if committed.get(str(meta["report_id"])) != meta["version"]
        ]
        for start in range(0, len(stale), 5000):
            self._translations().delete(ids=stale[start : start + 5000])
        return len(stale)

    @_uses_client
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

    @_uses_client
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

    @_uses_client
    def chunks_of(
        self, reports: dict[str, ReportEntry], vectors: dict[str, np.ndarray] | None = None
    ) -> list[Chunk]:
        """The chunks of exactly these reports' versions (a reader catching up with a few
        reports; it checks the manifest again itself, as committed_chunks does), from the
        copies of recent versions where there are some (see store.recent_versions)."""
        out: list[Chunk] = []
        rest: dict[str, ReportEntry] = {}
        for rid, entry in reports.items():
            copy = self.recent.read(entry) if self.recent is not None else None
            if copy is None:
                rest[rid] = entry
                continue
            chunks, matrix = copy
            out += chunks
            if vectors is not None:
                vectors.update(zip([c.id for c in chunks], matrix, strict=True))
        return out + self._chunks_of(rest, vectors) if rest else out

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
        # A few reports per read: one read of the whole store holds every row twice over (as
        # Chroma's result and as chunks), which was the running bot's peak memory.
        for start in range(0, len(wanted), _REPORTS_PER_READ):
            part = wanted[start : start + _REPORTS_PER_READ]
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
            except InternalError as err:
                if attempt == _READ_RETRIES - 1:
                    raise StoreBusyError(
                        "another process is still writing vectors this read needs"
                    ) from err
                time.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    @_uses_client
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

    @_uses_client
    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        rows = self.chunks.get(ids=list(ids), include=["embeddings"])
        embs = rows["embeddings"] if rows["embeddings"] is not None else []
        return {
            cid: np.asarray(v, dtype=np.float32) for cid, v in zip(rows["ids"], embs, strict=True)
        }


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
