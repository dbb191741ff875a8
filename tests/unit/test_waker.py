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


async def _claimants(waker: Waker, n: int) -> list[asyncio.Task[bool]]:
    waiting = []
    for _ in range(n):
        waiting.append(asyncio.create_task(waker.wait("queue", 10, claimant=True)))
        await asyncio.sleep(0)  # each waits before the next: the order they are woken in
    return waiting


async def test_a_notification_wakes_as_many_claimants_as_it_has_claims_the_longest_waiting_first() -> None:
    waker = Waker()
    waiting = await _claimants(waker, 4)
    watcher = asyncio.create_task(waker.wait("queue", 10))
    await asyncio.sleep(0)
    waker.notify("queue", 2)
    await asyncio.sleep(0)
    assert [w.done() for w in waiting] == [True, True, False, False]
    assert watcher.done()  # a watcher hears every notification
    waker.notify("queue")  # no count (another process's notification): every claimant
    await asyncio.sleep(0)
    assert all(w.done() for w in waiting) and not waker.has_waiters("queue")


async def test_a_woken_claimant_that_is_cancelled_hands_its_wake_up_on() -> None:
    waker = Waker()
    first, second = await _claimants(waker, 2)
    waker.notify("queue", 1)
    first.cancel()  # its request went away in the same turn: it will not claim
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 1) is True
    third, fourth = await _claimants(waker, 2)
    third.cancel()  # cancelled while nobody had woken it: nothing to hand on
    with pytest.raises(asyncio.CancelledError):
        await third
    await asyncio.sleep(0.01)
    assert not fourth.done()
    fourth.cancel()
