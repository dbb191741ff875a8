"""The timer loop: claims due timers in batches and fires each; sleeps until the next one is due
(or until a nearer one is set), never longer than a second."""

from __future__ import annotations

import asyncio
import logging

from podium.loops import failed
from podium.loops.heartbeat import Beat, no_beat
from podium.model.records import Timer
from podium.service import timers
from podium.service.executions import TIMER_CHANNEL, Executions
from podium.store.timers import due_timers, next_timer_due

log = logging.getLogger(__name__)

BATCH = 200
MAX_SLEEP_S = 1.0


async def run_timer_loop(x: Executions, beat: Beat = no_beat) -> None:
    while True:
        beat()
        seen = x.waker.generation(TIMER_CHANNEL)
        try:
            fired = await fire_due(x)
            if fired >= BATCH:
                continue
            pause = await _pause(x)
        except Exception as exc:  # a broken store must not kill the loop; it retries after a pause
            failed(log, "timer loop failed", exc, action="timer_loop_error")
            pause = MAX_SLEEP_S
        await x.waker.wait(TIMER_CHANNEL, pause, since=seen)


async def fire_due(x: Executions) -> int:
    """Fire what is due: an execution's own timers one after the other, in due order; the others
    (a dialect's callbacks and polls, each its own unit of work on its own task) all at once, so
    a burst of them shares commits."""
    async with x.store.reader() as s:
        due = await due_timers(s, x.clock.now(), BATCH)
    if x.metrics is not None and due:
        now = x.clock.now()
        for timer in due:
            x.metrics.timer_lag.observe(max(now - timer.due_at, 0) / 1000)
    own = [t for t in due if t.kind not in x.timer_handlers]
    others = [t for t in due if t.kind in x.timer_handlers]
    await asyncio.gather(*(_fire(x, timer) for timer in others))
    for timer in own:
        await _fire(x, timer)
    return len(due)


async def _fire(x: Executions, timer: Timer) -> None:
    try:
        await timers.fire(x, timer)
    except Exception as exc:
        failed(log, "timer failed", exc, **{"action": "timer_error", "timer": timer.kind, "key": timer.key})


async def _pause(x: Executions) -> float:
    async with x.store.reader() as s:
        nxt = await next_timer_due(s)
    if nxt is None:
        return MAX_SLEEP_S
    return min(max((nxt - x.clock.now()) / 1000, 0.001), MAX_SLEEP_S)
