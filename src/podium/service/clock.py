"""Time, injectable: the server uses the system clock, tests a clock they move by hand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> int:
        """Epoch milliseconds."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that only moves when told; sleepers wake when it passes their deadline."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = start_ms
        self._moved = asyncio.Event()
        self.on_advance: list[Callable[[], None]] = []

    def now(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        self._now += ms
        self._moved.set()
        self._moved = asyncio.Event()
        for listener in self.on_advance:
            listener()

    async def sleep(self, seconds: float) -> None:
        """Returns when fake time reached the deadline, or after a short real pause, whichever first."""
        deadline = self._now + int(seconds * 1000)
        while self._now < deadline:
            moved = self._moved
            try:
                async with asyncio.timeout(min(seconds, 0.05)):  # see Waker.wait
                    await moved.wait()
            except TimeoutError:
                return


def iso(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 in UTC, to the millisecond: `2018-08-08T15:10:00.000Z`."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
