"""The task event stream: events are rows written in the unit of work that caused them, so every
server process can stream every event. A reader follows the log from where it joined; a sequence
number that stays missing for a while belongs to a transaction that rolled back (PostgreSQL
sequences do not go back) and is skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from podium.service.bbs.changes import EVENTS_CHANNEL
from podium.service.executions import Executions
from podium.store import bbs as store

BATCH = 500
WAIT_S = 1.0
GAP_WAIT_MS = 5_000  # a gap in the sequence older than this is a rolled-back insert


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    kind: str
    body: str  # JSON


async def position(x: Executions) -> int:
    """Where a reader joining now starts: after the last event written so far."""
    async with x.store.reader() as s:
        return await store.last_event_seq(s)


async def follow(x: Executions, floor: int) -> AsyncIterator[Event | None]:
    """Events after `floor`, in order; None whenever a wait for more timed out (a keep-alive point)."""
    pending: dict[int, int] = {}  # seen beyond the floor: seq -> created_at
    while True:
        generation = x.waker.generation(EVENTS_CHANNEL)
        async with x.store.reader() as s:
            rows = await store.events_after(s, floor, BATCH)
        for seq, created_at, kind, body in rows:
            if seq not in pending:
                pending[seq] = created_at
                yield Event(seq, kind, body)
        floor = _advance(floor, pending, x.clock.now())
        if len(rows) < BATCH and not await x.waker.wait(EVENTS_CHANNEL, WAIT_S, since=generation):
            yield None


def _advance(floor: int, pending: dict[int, int], now: int) -> int:
    """Move the floor over the events seen without a gap, and over gaps that waited long enough."""
    while pending:
        first = min(pending)
        if first != floor + 1 and pending[first] > now - GAP_WAIT_MS:
            break
        floor = first
        del pending[first]
    return floor
