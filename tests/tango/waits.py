"""Real-time waits for the TANGO tests: the engine calls members over real HTTP, so these tests run on
the real clock, with generous deadlines and no assertion about speed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

PERIOD = 0.2  # seconds: the heartbeat period of the leaders under test
DEADLINE = 10.0  # seconds to wait for something that must happen
SETTLE = 1.0  # seconds (five periods) given to something that must NOT happen, before checking it did not


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, timeout: float = DEADLINE) -> T:
    """Await `check()` until it returns something truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not seen within {timeout}s (last: {last!r})")


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = DEADLINE) -> T:
    """`eventually` for synchronous code (tests against a real server process)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what}: not seen within {timeout}s (last: {last!r})")
