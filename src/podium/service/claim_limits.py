"""A task definition's limits on claiming its tasks, as Conductor has them: `concurrentExecLimit`
(at most so many IN_PROGRESS at once) and `rateLimitPerFrequency` (at most so many started in the
sliding window of `rateLimitFrequencyInSeconds`).

Every claim honours them (`Tasks._capacity`), counting the rows; `podium.service.explain` lists
the same rows to say which tasks hold a limit and when its window reopens. The rules below are the
one place both read them from.
"""

from __future__ import annotations

from podium.model.definitions import TaskDef
from podium.store.session import Session
from podium.store.tasks import count_in_progress, count_started_since


def rate_window_ms(tdef: TaskDef) -> int:
    return max(tdef.rate_limit_frequency_in_seconds, 1) * 1000


def concurrency_room(tdef: TaskDef, in_progress: int) -> int | None:
    """How many more may start with `in_progress` running; None: no concurrency limit."""
    return tdef.concurrent_exec_limit - in_progress if tdef.concurrent_exec_limit else None


def rate_room(tdef: TaskDef, started: int) -> int | None:
    """How many more may start with `started` in the window already; None: no rate limit."""
    return tdef.rate_limit_per_frequency - started if tdef.rate_limit_per_frequency > 0 else None


def rate_reopens_at(tdef: TaskDef, starts: list[int]) -> int | None:
    """When the rate window lets one more start, given the start times in it (oldest first); None
    while it has room. A start leaves the window once it is older than the window's length."""
    room = rate_room(tdef, len(starts))
    if room is None or room > 0:
        return None
    return starts[-room] + rate_window_ms(tdef) + 1


async def capacity(s: Session, task_type: str, tdef: TaskDef, wanted: int, now: int) -> int:
    """How many of `wanted` tasks of this type the limits let a claim take now."""
    rooms: list[int | None] = [wanted]
    if tdef.concurrent_exec_limit:
        rooms.append(concurrency_room(tdef, await count_in_progress(s, task_type)))
    if tdef.rate_limit_per_frequency > 0:
        rooms.append(rate_room(tdef, await count_started_since(s, task_type, now - rate_window_ms(tdef))))
    return min(room for room in rooms if room is not None)
