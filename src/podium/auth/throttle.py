"""Slows down guessing: an address that failed to log in `limit` times within `window_s` seconds
is refused (429) until the oldest of those failures leaves the window. Successes cost nothing."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

_ADDRESSES = 10_000  # addresses remembered at most (the oldest entries go first)


class Throttle:
    def __init__(self, limit: int = 10, window_s: float = 60.0,
                 now_s: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._now_s = now_s
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, address: str) -> float:
        """Seconds until this address may try again (0: it may now)."""
        failures = self._recent(address)
        if failures is None or len(failures) < self.limit:
            return 0.0
        return max(0.0, failures[0] + self.window_s - self._now_s())

    def failed(self, address: str) -> None:
        failures = self._recent(address)
        if failures is None:
            if len(self._failures) >= _ADDRESSES:
                del self._failures[next(iter(self._failures))]
            failures = self._failures[address] = deque(maxlen=self.limit)
        failures.append(self._now_s())

    def _recent(self, address: str) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is not None:
            horizon = self._now_s() - self.window_s
            while failures and failures[0] <= horizon:
                failures.popleft()
        return failures
