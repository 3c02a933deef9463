"""A per-user sliding-window rate limit: at most `limit` questions in any `window` seconds."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable


class SlidingWindowLimiter:
    """`hit(key)` records a request and returns 0.0, or — when `key` already made `limit` requests
    in the last `window` seconds — records nothing and returns the seconds until it may ask again.

    `limit <= 0` means no limit. `clock` is injectable for tests (default: time.monotonic).
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[Hashable, deque[float]] = {}
        self._calls = 0

    def hit(self, key: Hashable) -> float:
        if self.limit <= 0:
            return 0.0
        now = self.clock()
        self._calls += 1
        if self._calls % 1000 == 0:
            self._forget_idle(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(hits[0] + self.window - now, 0.001)
        hits.append(now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        """Drop users whose every request is older than the window (bounded memory)."""
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
