"""One writer at a time per data folder, across processes and threads.

Two writers on one store at once (two `reportbot ingest`, or an ingest beside the bot's watcher
or an upload) would interleave their sweeps and commits: one sweeps up the other's chunks
before their manifest row is written, both embed and write the same report, and each embedded
Chroma client works from an in-memory index the other has made stale. So every write to the
store (`store.ingest.ingest`, `reportbot reindex`) holds an exclusive lock on
`DATA_DIR/ingest.lock` (`filelock`: the operating system's file lock, which it releases by
itself when the holder dies, so a killed ingest never leaves the store locked). Within a process
a reentrant thread lock does the same, so a reindex, which holds the lock, can call ingest.

A second writer waits, saying so once (`on_wait`), or with `wait=False` fails at once with
`StoreBusyError`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

log = logging.getLogger(__name__)

LOCK_FILE = "ingest.lock"


class StoreBusyError(RuntimeError):
    """Another writer holds the store and the caller chose not to wait."""


class ReadOnlyError(RuntimeError):
    """The data folder cannot be written (a read-only mount or permissions): reading it still
    works, writing is refused. The message is one line."""


# Per lock file (resolved path): the thread lock, and the one FileLock object of this process
# (its own counter makes nested holds by the thread holding the thread lock cheap).
_held: dict[Path, tuple[threading.RLock, FileLock]] = {}
_held_guard = threading.Lock()
os.register_at_fork(after_in_child=_held.clear)  # a fork must not inherit another thread's hold


@contextmanager
def write_lock(
    data_dir: Path, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the right to write the store in `data_dir` for the duration of the block."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as err:
        raise ReadOnlyError(
            f"the data folder {data_dir} cannot be written ({err.strerror or err}): questions "
            "are still answered from it, but ingest, reindex, uploads and import need it writable"
        ) from err
    shown = data_dir / LOCK_FILE
    key = shown.resolve()
    with _held_guard:
        if key not in _held:
            _held[key] = (threading.RLock(), FileLock(key, thread_local=False))
        local, file_lock = _held[key]
    waiting = f"waiting for another ingest to finish ({shown})"
    busy = f"another ingest is writing to {data_dir} ({shown}); try again when it has finished"
    if not local.acquire(blocking=False):  # another thread of this process writes
        if not wait:
            raise StoreBusyError(busy)
        (on_wait or log.warning)(waiting)
        local.acquire()
    try:
        try:
            file_lock.acquire(timeout=0)
        except Timeout:  # another process writes
            if not wait:
                raise StoreBusyError(busy) from None
            (on_wait or log.warning)(waiting)
            file_lock.acquire()
        try:
            yield
        finally:
            file_lock.release()
    finally:
        local.release()
