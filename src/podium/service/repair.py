"""The safety net: finds work that a bug or an outside hand left stranded and puts it back on its
way. In normal operation every unit of work keeps queues and timers in step, and this finds nothing;
what it does find, it logs."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from podium.engine import decider
from podium.engine.turn import Turn
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import QueueEntry
from podium.service.executions import Executions
from podium.store.queue import enqueue, queued_task_ids
from podium.store.repair import (
    running_tasks_without_timer,
    running_without_live_tasks,
    scheduled_tasks_missing_from_queue,
)
from podium.store.timers import task_timer_keys

log = logging.getLogger(__name__)

GRACE_MS = 30_000  # leave alone what changed this recently: its own unit of work is in charge
LIMIT = 500


@dataclass
class Repaired:
    requeued: int = 0
    rearmed: int = 0
    redecided: int = 0


async def repair(x: Executions) -> Repaired:
    done = Repaired()
    before = x.clock.now() - GRACE_MS
    async with x.store.unit() as s:
        lost = await scheduled_tasks_missing_from_queue(s, before, LIMIT)
        await enqueue(s, [QueueEntry(t.task_id, t.workflow_id, t.queue_name, t.workflow_priority, x.clock.now())
                         for t in lost])
        unarmed = await running_tasks_without_timer(s, before, LIMIT)
        stuck = await running_without_live_tasks(s, before, LIMIT)
    done.requeued = len(lost)
    for name in {t.queue_name for t in lost}:
        x.waker.notify(name)
    for task in unarmed:
        await x.mutate(task.workflow_id, functools.partial(_rearm, task_id=task.task_id))
    done.rearmed = len(unarmed)
    for workflow_id in stuck:
        await x.mutate(workflow_id, _resettle_last, tasks="all")
    done.redecided = len(stuck)
    if lost or unarmed or stuck:
        log.warning("repaired stranded work", extra={"action": "repair", "requeued": done.requeued,
                                                      "rearmed": done.rearmed, "redecided": done.redecided})
    return done


async def repair_workflow(x: Executions, workflow_id: str) -> bool:
    """The same checks for one execution, now (`/admin/consistency/verifyAndRepair`); True if
    anything was put right."""
    async with x.store.unit() as s:
        state = await x.load(s, workflow_id, tasks="all")
        queued = await queued_task_ids(s, workflow_id)
        armed = await task_timer_keys(s, workflow_id)
        lost = [t for t in state.live_tasks() if t.status == TaskStatus.SCHEDULED and t.task_id not in queued]
        unarmed = [t for t in state.live_tasks() if t.status == TaskStatus.IN_PROGRESS and t.task_id not in armed]
        stuck = state.execution.status == WorkflowStatus.RUNNING and not state.live_tasks()

        def move(turn: Turn) -> None:
            for task in lost:
                turn.enqueue(task)
            for task in unarmed:
                turn.arm_timer(task)
            if stuck:
                _resettle_last(turn)

        await x.step(state, move)
        outcome = await x.persist(s, state)
    x.after_commit(outcome)
    return bool(lost or unarmed or stuck)


def _resettle_last(turn: Turn) -> None:
    """Running with nothing live: apply the consequences of the last task again (as Conductor's
    sweeper does), which schedules what should have followed it, or completes the workflow."""
    tasks = turn.state.tasks.values()
    if tasks:
        last = max(tasks, key=lambda t: t.seq)
        last.retried = False
        turn.state.reopen(last)
    decider.decide(turn)


def _rearm(turn: Turn, task_id: str) -> None:
    task = turn.state.tasks.get(task_id)
    if task is not None:
        turn.arm_timer(task)
