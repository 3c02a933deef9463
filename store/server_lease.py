"""One writer at a time on a Chroma server, whatever data folder or machine it writes from.

The data folder's file lock (store.write_lock) only orders the writers that share that folder.
Writers with other `--data-dir`s against the same `--chroma-url` would each sweep up the
others' written-but-uncommitted chunks. So a writer to a server also holds a lease kept in the
server itself: one row of the `<collection>_lease` collection naming its owner and when the
lease expires. The owner renews it while it writes; a writer killed while holding it simply
stops renewing, and the lease lapses after `ttl` seconds. Only then may another writer start,
and its sweep (of chunks no manifest row points at) can only meet chunks of a writer whose lease
has lapsed.

Chroma has no compare-and-set, so taking the lease is write-then-read-back: a writer writes its
claim, waits `settle` seconds for a rival's claim to land, and holds the lease only if its own
claim is still the one stored. Two claims within `settle` of each other: the later stands, the
earlier writer sees that and waits.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from chromadb.api import ClientAPI

from store.write_lock import StoreBusyError

log = logging.getLogger(__name__)

_ROW = "writer"
DEFAULT_TTL = 30.0


class ServerLease:
    def __init__(
        self,
        client: ClientAPI,
        collection: str,
        ttl: float = DEFAULT_TTL,
        settle: float = 0.3,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rows = client.get_or_create_collection(
            f"{collection}_lease", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        self.ttl = ttl
        self.settle = settle
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def holder(self) -> tuple[str, float] | None:
        """(owner, expiry) of the lease as stored, or None."""
        got = self.rows.get(ids=[_ROW], include=["metadatas"])
        if not got["ids"] or not got["metadatas"]:
            return None
        meta = got["metadatas"][0]
        return str(meta["owner"]), float(meta["expires"])

    def _claim(self) -> None:
        self.rows.upsert(
            ids=[_ROW],
            embeddings=[[1.0]],
            metadatas=[{"owner": self.owner, "expires": self.clock() + self.ttl}],
        )

    @contextmanager
    def held(
        self, wait: bool = True, on_wait: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """Hold the lease for the block, renewing it meanwhile; wait for a live one to be
        released or to lapse (or, with `wait=False`, raise StoreBusyError)."""
        told = False
        while True:
            current = self.holder()
            if current is None or current[1] < self.clock() or current[0] == self.owner:
                self._claim()
                time.sleep(self.settle)
                current = self.holder()
                if current is not None and current[0] == self.owner:
                    break
            assert current is not None
            message = (
                f"another writer ({current[0]}) holds the Chroma server's write lease for "
                f"{max(0.0, current[1] - self.clock()):.0f} s more"
            )
            if not wait:
                raise StoreBusyError(f"{message}; try again when it has finished")
            if not told:
                (on_wait or log.warning)(f"waiting: {message}")
                told = True
            time.sleep(min(1.0, max(0.1, current[1] - self.clock())))
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(stop,), daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            if (current := self.holder()) is not None and current[0] == self.owner:
                self.rows.delete(ids=[_ROW])

    def _renew(self, stop: threading.Event) -> None:
        while not stop.wait(self.ttl / 3):
            try:
                current = self.holder()
                if current is None or current[0] != self.owner:
                    # Lapsed and taken (this process stalled past the ttl): never take it back
                    # from under the new holder.
                    log.error("the write lease lapsed and another writer holds it now")
                    return
                self._claim()
            except Exception as err:  # the server is gone: the write itself will fail loudly
                log.warning("could not renew the write lease: %s", err)
