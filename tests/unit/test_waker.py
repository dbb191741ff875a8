"""The waker every background loop waits on: a cancelled wait must end cancelled, even when a
notification lands in the same turn of the event loop (on Python 3.11 `asyncio.wait_for` returned
the notification instead, swallowing the cancellation, and the loop it belonged to never stopped:
an app's shutdown then waited for it forever)."""

from __future__ import annotations

import asyncio

import pytest

from podium.model.enums import TaskStatus
from podium.model.records import Task
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


async def _claimants(waker: Waker, n: int) -> list[asyncio.Task[list[Task]]]:
    waiting = []
    for _ in range(n):
        waiting.append(asyncio.create_task(waker.wait_to_claim("queue", 10)))
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
    assert await asyncio.wait_for(second, 1) == []  # woken, with nothing handed to it: it claims
    third, fourth = await _claimants(waker, 2)
    third.cancel()  # cancelled while nobody had woken it: nothing to hand on
    with pytest.raises(asyncio.CancelledError):
        await third
    await asyncio.sleep(0.01)
    assert not fourth.done()
    fourth.cancel()


def _task(task_id: str) -> Task:
    return Task(task_id=task_id, workflow_id="wf", workflow_type="w", seq=1, ref_name="r", task_type="t",
                task_def_name="t", status=TaskStatus.IN_PROGRESS, scheduled_time=0, update_time=0)


async def test_a_claimant_taken_by_a_unit_gets_its_tasks_when_the_unit_commits_and_no_wake_up_meanwhile() -> None:
    waker = Waker()
    first, second = await _claimants(waker, 2)
    taker = waker.take("queue")
    assert taker is not None and taker.room == 1
    taker.taken.append(_task("t1"))
    waker.notify("queue", 1)  # another unit's task: it wakes the next claimant, not the one taken
    await asyncio.sleep(0)
    assert not first.done() and await second == []
    assert waker.take("queue") is None  # nobody else is waiting
    taker.hand()
    assert [t.task_id for t in await first] == ["t1"]


async def test_a_claimant_let_go_by_a_unit_that_rolled_back_claims_again() -> None:
    waker = Waker()
    [waiting] = await _claimants(waker, 1)
    taker = waker.take("queue")
    assert taker is not None
    taker.taken.append(_task("t1"))
    taker.let_go()
    assert await waiting == []


async def test_a_claimant_whose_time_runs_out_while_a_unit_hands_it_tasks_waits_for_them() -> None:
    waker = Waker()
    waiting = asyncio.create_task(waker.wait_to_claim("queue", 0.01, worker_id="w", room=2))
    await asyncio.sleep(0)
    taker = waker.take("queue")
    assert taker is not None and taker.worker_id == "w" and taker.room == 2
    await asyncio.sleep(0.05)  # past its timeout
    assert not waiting.done()
    taker.taken.append(_task("t1"))
    taker.hand()
    assert [t.task_id for t in await waiting] == ["t1"]
    expired = await waker.wait_to_claim("queue", 0.01)  # one nobody takes just times out
    assert expired == [] and waker.claimants("queue") == 0
