"""Waiting in tests that drive real processes: poll until something holds, with a deadline."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 30, interval: float = 0.05) -> T:
    """Call `probe` until it returns something truthy; fail with the last value after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last  # type: ignore[no-any-return]
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


async def eventually(probe: Callable[[], Any], what: str, timeout: float = 30, interval: float = 0.02) -> Any:
    """Call `probe` (sync, or returning an awaitable) until it gives something truthy, and return that;
    fail with the last value after `timeout` s (real time, even under a fake clock)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")
        await asyncio.sleep(interval)
