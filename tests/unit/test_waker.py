"""The waker every background loop waits on: a cancelled wait must end cancelled, even when a
notification lands in the same turn of the event loop (on Python 3.11 `asyncio.wait_for` returned
the notification instead, swallowing the cancellation, and the loop it belonged to never stopped:
an app's shutdown then waited for it forever)."""

from __future__ import annotations

import asyncio

import pytest

from podium.service.clock import FakeClock
from podium.service.waker import Waker


async def test_a_cancelled_wait_stays_cancelled_when_a_notification_lands_with_it() -> None:
    waker = Waker()
    waiting = asyncio.create_task(waker.wait("queue", 10))
    await asyncio.sleep(0)  # it waits on its notification now
    waker.notify("queue")
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_wait_returns_on_a_notification_or_its_timeout() -> None:
    waker = Waker()
    waiting = asyncio.create_task(waker.wait("queue", 10))
    await asyncio.sleep(0)
    waker.notify("queue")
    assert await waiting is True
    assert await waker.wait("queue", 0.01) is False
    seen = waker.generation("queue")
    waker.notify("queue")
    assert await waker.wait("queue", 10, since=seen) is True


async def test_a_fake_clocks_sleep_stays_cancelled_too() -> None:
    clock = FakeClock()
    sleeping = asyncio.create_task(clock.sleep(60))
    await asyncio.sleep(0)
    clock.advance(1)
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping
