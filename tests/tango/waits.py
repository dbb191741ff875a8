"""Real-time waits for the TANGO tests: the engine calls members over real HTTP, so these tests run on
the real clock, with generous deadlines and no assertion about speed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tests import waits

T = TypeVar("T")

PERIOD = 0.2  # seconds: the heartbeat period of the leaders under test
DEADLINE = 10.0  # seconds to wait for something that must happen
SETTLE = 1.0  # seconds (five periods) given to something that must NOT happen, before checking it did not


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, timeout: float = DEADLINE) -> T:
    """`tests.waits.eventually` with this suite's deadline."""
    found: T = await waits.eventually(check, what, timeout)
    return found


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = DEADLINE) -> T:
    """`tests.waits.wait_for` with this suite's deadline."""
    return waits.wait_for(probe, what, timeout)
