"""One BBS unit of work: lock the execution, read the task's BBS row, change both, and record what
changed (the row, a task event, a completion callback to send) before the commit; wake whoever
waits after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from podium.engine.state import ExecutionState
from podium.model.bbs import BbsTask, State, not_found
from podium.model.records import Execution, Timer
from podium.service.executions import TIMER_CHANNEL, Executions, Outcome
from podium.store import bbs as store
from podium.store.session import Session
from podium.store.timers import set_timers

EVENTS_CHANNEL = "__bbs_events__"
CALLBACK_TIMER = "bbs_callback"  # key: the task guid; due: when its completion callback is to be sent


def now_ns(x: Executions) -> int:
    return x.clock.now() * 1_000_000


@dataclass
class Change:
    """The working set of one BBS unit."""

    x: Executions
    s: Session
    execution: Execution | None
    task: BbsTask
    before: BbsTask
    outcome: Outcome = field(default_factory=Outcome)
    removed: bool = False

    async def engine(self) -> ExecutionState | None:
        """The execution's state, while it runs (a finished one has nothing left to move)."""
        if self.execution is None or self.execution.status.terminal:
            return None
        return await self.x.state_of(self.s, self.execution)

    async def persist(self, state: ExecutionState) -> None:
        state.observed = True  # this unit writes the BBS row itself
        self.outcome.absorb(await self.x.persist(self.s, state))


async def record(c: Change, *, kind: str | None = None, callback: bool = False) -> None:
    """Write the row and its event (task_changed unless `kind` says otherwise); with `callback`,
    a task that just completed with a callback URL gets its callback sent. The row of a removed
    task went with its execution (`delete_execution`), a created task's row came first
    (`store.insert_new`): only their events are written here."""
    now = c.x.clock.now()
    if c.removed:
        await store.add_event(c.s, "task_removed", {"task": c.before.to_wire()}, now)
    elif kind == "task_created":
        await store.add_event(c.s, kind, {"task": c.task.to_wire()}, now)
    else:
        await store.save(c.s, c.task)
        await store.add_event(c.s, "task_changed", {"before": c.before.to_wire(), "after": c.task.to_wire()}, now)
    if callback and c.task.state == State.COMPLETED and c.task.callback_url:
        await submit_callback(c.s, c.task.task_guid, now)
        c.outcome.timers_changed = True


async def submit_callback(s: Session, guid: str, now: int) -> None:
    await set_timers(s, [Timer(CALLBACK_TIMER, guid, guid, now)])


def after_commit(x: Executions, c: Change | Outcome) -> None:
    outcome = c.outcome if isinstance(c, Change) else c
    x.after_commit(outcome)
    x.waker.notify(EVENTS_CHANNEL)
    if outcome.timers_changed:
        x.waker.notify(TIMER_CHANNEL)


@asynccontextmanager
async def change(x: Executions, guid: str) -> AsyncIterator[Change]:
    """A unit of work on one BBS task (ResourceNotFound if there is none). The block changes
    `c.task` and the engine state; nothing is written unless it calls `record`."""
    async with x.store.unit() as s:
        found = await store.get_with_execution(s, guid)  # every unit locks the execution first
        if found is None:
            raise not_found()
        execution, task = found
        c = Change(x, s, execution, task, task.copy())
        yield c
    after_commit(x, c)
