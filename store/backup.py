"""`reportbot export` and `reportbot import`: a data folder as one .tar.gz, and back.

The archive holds the whole state of the folder: the store, the bot's subscriptions, the
reports admins uploaded and the watcher's memory (FOLDER_STATE). SQLite files are copied through
SQLite's backup API, never as files under a writer. An import replaces what the archive holds
and keeps what it does not (an older store-only backup never removes subscribers or uploads).

Export copies the Chroma folder file by file -- SQLite through its backup API -- and keeps the
copy only if no file of the store changed while it was taken (a running `reportbot ingest` in
another process makes it wait and try again). The copy is then opened, the leftovers of an
interrupted ingest are swept from it, every committed chunk is checked to have its vector, and
it is archived with `reportbot-backup.json` (what is inside). The archive only appears,
complete, when all that is done.

Import checks every member before writing anything (relative paths only, no `..`, no links or
devices, size limits), unpacks into a staging folder beside the data folder, opens the result
as a store, and only then moves it into place.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
import zlib
from pathlib import Path, PurePosixPath

import chromadb
from chromadb.errors import ChromaError
from pydantic import BaseModel

from store.vector_store import ReportStore, StoreMismatchError, record_change

FORMAT = 2
# Format 1 (store only) backups stay importable.
READABLE_FORMATS = (1, 2)
DESCRIPTOR = "reportbot-backup.json"
STORE_DIR = "chroma"
SQLITE_FILE = "chroma.sqlite3"
# The rest of a data folder's state, by the names the bot and the watcher give it
# (bot/subscriptions.py FILE_NAME, bot/handlers.py UPLOADS_DIR, store/watch.py WATCH_DIR).
FOLDER_STATE = ("subscriptions.sqlite3", "uploads", "watch")
# Limits on what an archive may unpack to; a real store of every report is ~100 MB.
MAX_TOTAL_BYTES = 20 * 1024**3
MAX_MEMBERS = 100_000
_VECTOR_PAGE = 5000


class BackupError(Exception):
    """An export or import that cannot be done; the message says why, in one line."""


class BackupInfo(BaseModel):
    """The archive's `reportbot-backup.json`."""

    format: int = FORMAT
    created: str
    schema_version: int | None
    embedding_model: str
    collection: str
    reports: int
    chunks: int
    # The top-level entries of the data folder the archive holds (format 1: the store only).
    contents: list[str] = [STORE_DIR]
    # Filled in by an import: what the data folder kept because the archive does not hold it.
    kept: list[str] = []


# ---- export ---------------------------------------------------------------------------------


def export_store(
    data_dir: Path,
    archive: Path,
    collection: str,
    chroma_url: str | None = None,
    wait: float = 120.0,
) -> BackupInfo:
    """Archive the store in `data_dir` as `archive` (.tar.gz); wait up to `wait` seconds for a
    moment when no ingest is writing to it."""
    if chroma_url:
        raise BackupError(
            "export copies an on-disk store (--data-dir); this one is a Chroma server "
            f"({chroma_url}): back up the server's own --path folder instead"
        )
    chroma_dir = data_dir / STORE_DIR
    if not (chroma_dir / SQLITE_FILE).is_file():
        raise BackupError(f"there is no store in {data_dir} to export")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".reportbot-export-", dir=archive.parent) as tmp:
        copy = Path(tmp) / STORE_DIR
        _quiet_copy(chroma_dir, copy, wait)
        info = _tidy(copy, collection)
        state = Path(tmp) / "state"
        state.mkdir()
        for name in FOLDER_STATE:
            if (data_dir / name).exists():
                _copy_state(data_dir / name, state / name)
                info.contents.append(name)
        (Path(tmp) / DESCRIPTOR).write_text(
            info.model_dump_json(indent=2, exclude={"kept"}), encoding="utf-8"
        )
        partial = Path(tmp) / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(Path(tmp) / DESCRIPTOR, arcname=DESCRIPTOR, filter=_plain)
            tar.add(copy, arcname=STORE_DIR, filter=_plain)
            for name in info.contents[1:]:
                tar.add(state / name, arcname=name, filter=_plain)
        os.replace(partial, archive)  # the archive appears only when complete
    return info


def _copy_state(source: Path, target: Path) -> None:
    """A file or folder of the bot's state; SQLite databases through the backup API (the bot may
    be writing them)."""
    if source.is_dir():
        target.mkdir()
        for entry in sorted(source.iterdir()):
            if not entry.name.endswith(("-wal", "-shm", "-journal")):
                _copy_state(entry, target / entry.name)
    elif source.suffix == ".sqlite3":
        src = sqlite3.connect(source, timeout=30)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        shutil.copy2(source, target)


def _stamp(folder: Path) -> dict[str, tuple[int, int]]:
    """Size and modification time of every file of the store (SQLite's shared-memory index
    changes on reads too, so it does not count)."""
    out: dict[str, tuple[int, int]] = {}
    for path in folder.rglob("*"):
        if not path.name.endswith("-shm"):
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file():
                out[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return out


def _quiet_copy(source: Path, target: Path, wait: float) -> None:
    """Copy `source` to `target`, again and again until no file changed during a copy."""
    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        before = _stamp(source)
        shutil.rmtree(target, ignore_errors=True)
        try:
            _copy_store(source, target)
            quiet = _stamp(source) == before
        except (OSError, sqlite3.Error):
            quiet = False  # a file went away mid-copy: a writer is at work
        if quiet:
            return
        if time.monotonic() > deadline:
            raise BackupError(
                f"the store kept changing for {wait:.0f} s (is an ingest running?); "
                "export again when it is done"
            )
        time.sleep(pause)
        pause = min(1.0, pause * 2)


def _copy_store(source: Path, target: Path) -> None:
    target.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.name == SQLITE_FILE:
            src = sqlite3.connect(entry, timeout=30)
            dst = sqlite3.connect(target / SQLITE_FILE)
            try:
                src.backup(dst)  # one consistent state, whatever journal mode the store uses
            finally:
                dst.close()
                src.close()
        elif entry.name.startswith(SQLITE_FILE):
            continue  # its journal / WAL: already inside the backup above
        elif entry.is_dir():
            shutil.copytree(entry, target / entry.name)
        else:
            shutil.copy2(entry, target / entry.name)


def _tidy(copy: Path, collection: str) -> BackupInfo:
    """Open the copy: sweep an interrupted ingest's leftovers, check that every committed
    chunk has its vector, and describe what is inside."""
    client = chromadb.PersistentClient(path=str(copy))
    try:
        names = {c.name for c in client.list_collections()}
        if collection not in names:
            raise BackupError(f"the store has no collection {collection!r} to export")
        meta = client.get_collection(collection).metadata or {}
        model = str(meta.get("embedding_model") or "")
        schema = meta.get("schema_version")
        try:
            store = ReportStore(client, collection, model)
        except StoreMismatchError:
            # Another reportbot's layout: archived as it is (it asks for `reportbot reindex`).
            reports = client.get_collection(f"{collection}_reports").count()
            chunks = client.get_collection(collection).count()
        else:
            store.sweep()
            ids = [c.id for c in store.committed_chunks()]
            try:
                found = sum(
                    len(store.vectors(ids[i : i + _VECTOR_PAGE]))
                    for i in range(0, len(ids), _VECTOR_PAGE)
                )
            except ChromaError as err:
                raise BackupError(f"the store's vector index is damaged: {err}") from err
            if found != len(ids):
                raise BackupError(f"{len(ids) - found} committed chunks have no vector")
            reports, chunks = len(store.reports()), len(ids)
    finally:
        client.close()
    return BackupInfo(
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        schema_version=int(schema) if isinstance(schema, int) else None,
        embedding_model=model,
        collection=collection,
        reports=reports,
        chunks=chunks,
    )


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if info.isdir() else 0o644
    return info


# ---- import ---------------------------------------------------------------------------------


def import_store(
    archive: Path,
    data_dir: Path,
    force: bool = False,
    chroma_url: str | None = None,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_members: int = MAX_MEMBERS,
) -> BackupInfo:
    """Restore an `export_store` archive into `data_dir`, which must be empty or missing
    (`force`: replace what is there)."""
    if chroma_url:
        raise BackupError(
            "import restores an on-disk store (--data-dir), not into a Chroma server "
            f"({chroma_url}); import into a folder and serve it with `chroma run --path DIR`"
        )
    if not archive.is_file():
        raise BackupError(f"no such backup file: {archive}")
    if data_dir.exists() and not data_dir.is_dir():
        raise BackupError(f"{data_dir} is not a folder")
    if data_dir.is_dir() and any(data_dir.iterdir()) and not force:
        raise BackupError(
            f"{data_dir} is not empty; import restores into an empty data folder "
            "(--force replaces what is there)"
        )
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.import-", dir=data_dir.parent))
    try:
        _unpack(archive, staging, max_total_bytes, max_members)
        info = _check_restored(staging)
        info.kept = _swap_in(staging, data_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # The generation file was carried over: a running bot, and the read side's saved indexes,
    # would take the restored store for the one they knew.
    record_change(data_dir, "restored from a backup")
    return info


def _member_path(member: tarfile.TarInfo) -> PurePosixPath:
    """The member's path, or BackupError if it is not a plain file or folder inside the
    archive's own tree."""
    name = member.name
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or path.is_absolute() or ":" in name or "\\" in name:
        raise BackupError(f"refusing archive member with an absolute path: {name!r}")
    if ".." in path.parts:
        raise BackupError(f"refusing archive member that leaves the folder: {name!r}")
    if member.issym() or member.islnk():
        raise BackupError(f"refusing link in archive: {name!r}")
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE):
        raise BackupError(f"refusing special file in archive: {name!r}")
    parts = [p for p in path.parts if p != "."]
    if not parts or (parts[0] not in (STORE_DIR, *FOLDER_STATE) and parts != [DESCRIPTOR]):
        raise BackupError(f"unexpected archive member {name!r}: not a reportbot backup")
    return PurePosixPath(*parts)


def _unpack(archive: Path, into: Path, max_total_bytes: int, max_members: int) -> None:
    total = members = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                members += 1
                if members > max_members:
                    raise BackupError(f"archive has more than {max_members:,} members")
                rel = _member_path(member)
                total += member.size
                if total > max_total_bytes:
                    raise BackupError(
                        f"archive unpacks to more than {max_total_bytes:,} bytes (limit)"
                    )
                target = into.joinpath(*rel.parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise BackupError(f"unreadable archive member {member.name!r}")
                with source, target.open("xb") as out:
                    shutil.copyfileobj(source, out, 1024 * 1024)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        if isinstance(err, FileExistsError):
            raise BackupError("archive holds the same file twice") from err
        reason = " ".join(str(err).split()) or type(err).__name__
        raise BackupError(f"cannot unpack {archive.name}: {reason}") from err


def _check_restored(staging: Path) -> BackupInfo:
    try:
        info = BackupInfo.model_validate_json((staging / DESCRIPTOR).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BackupError(f"not a reportbot backup (no valid {DESCRIPTOR})") from err
    if info.format not in READABLE_FORMATS:
        raise BackupError(
            f"backup format {info.format} is not supported (this reads {READABLE_FORMATS})"
        )
    if not (staging / STORE_DIR / "chroma.sqlite3").is_file():
        raise BackupError("the backup holds no Chroma store")
    client = chromadb.PersistentClient(path=str(staging / STORE_DIR))
    try:
        store = ReportStore(client, info.collection, info.embedding_model)
        reports, chunks = len(store.reports()), store.chunks.count()
    except StoreMismatchError:
        # A backup from another reportbot version: restored as is; it asks for a reindex.
        reports, chunks = info.reports, info.chunks
    except Exception as err:
        reason = " ".join(str(err).split())[:200]
        raise BackupError(f"the backup's store does not open: {reason}") from err
    finally:
        client.close()
    if (reports, chunks) != (info.reports, info.chunks):
        raise BackupError(
            f"the backup is incomplete: {reports} reports and {chunks} chunks, "
            f"not {info.reports} and {info.chunks}"
        )
    return info


def _swap_in(staging: Path, data_dir: Path) -> list[str]:
    """Replace `data_dir` by the staged restore (the old contents are removed last). What the
    archive does not hold (subscriptions and uploads, for a store-only backup; the lock and
    generation files) is carried over, not deleted; the folder keeps its permissions. Returns
    the names carried over."""
    kept: list[str] = []
    old: Path | None = None
    try:
        if data_dir.exists():
            for entry in sorted(data_dir.iterdir()):
                if not (staging / entry.name).exists():
                    os.replace(entry, staging / entry.name)
                    kept.append(entry.name)
            os.chmod(staging, data_dir.stat().st_mode & 0o7777)
            old = data_dir.with_name(f".{data_dir.name}.replaced-{os.getpid()}-{time.time_ns()}")
            os.replace(data_dir, old)
        os.replace(staging, data_dir)
    except OSError:
        if old is not None:
            os.replace(old, data_dir)  # put the original back
        for name in kept:  # and what was carried over
            if (staging / name).exists():
                os.replace(staging / name, data_dir / name)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return kept
