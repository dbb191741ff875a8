"""Firing one durable timer, through the same unit of work as an API call (so it fires once).

Besides timeouts, timers carry the messages between a parent workflow and its children, each
applied in a unit of work of the execution it concerns.
"""

from __future__ import annotations

from podium.engine import lifecycle, subworkflow
from podium.engine.task_updates import on_task_timer, on_workflow_timer
from podium.engine.timeouts import TASK_TIMER, WORKFLOW_TIMER
from podium.engine.turn import Turn
from podium.model.records import CHILD_ENDED, CHILD_REOPENED, STOP_CHILD, Execution, Timer
from podium.service.executions import Executions, Outcome
from podium.store.executions import get_execution
from podium.store.session import Session
from podium.store.timers import take_timer


async def fire(x: Executions, timer: Timer) -> None:
    handler = x.timer_handlers.get(timer.kind)
    if handler is not None:  # not an execution's own timer: its owner fires (and takes) it
        await handler(timer)
        return
    async with x.store.unit() as s:
        outcome = await _fire(x, s, timer)
    if outcome is not None:
        x.after_commit(outcome)


async def _fire(x: Executions, s: Session, timer: Timer) -> Outcome | None:
    ex = await get_execution(s, timer.workflow_id, lock=True)  # first: every unit locks the execution first
    if not await take_timer(s, timer):
        return None  # re-armed or fired elsewhere meanwhile
    if ex is None:
        return None
    if timer.kind == CHILD_REOPENED:
        return await _child_reopened(x, s, ex, timer.key)
    if ex.status.terminal:
        return None
    child = await get_execution(s, timer.key) if timer.kind == CHILD_ENDED else None
    stopping = timer.kind == STOP_CHILD and ex.parent_workflow_id
    parent = await get_execution(s, ex.parent_workflow_id or "") if stopping else None
    state = await x.state_of(s, ex)
    if timer.kind == TASK_TIMER:
        task = state.tasks.get(timer.key)
        if task is None:
            return None
        await x.step(state, lambda turn: on_task_timer(turn, task))
    elif timer.kind == WORKFLOW_TIMER:
        await x.step(state, on_workflow_timer)
    elif timer.kind == CHILD_ENDED and child is not None:
        found = state.tasks.get(child.parent_task_id or "")
        if found is not None:
            await x.step(state, lambda turn: subworkflow.child_ended(turn, found, child))
    elif timer.kind == STOP_CHILD:
        await x.step(state, lambda turn: _stop(turn, parent))
    return await x.persist(s, state)


def _stop(turn: Turn, parent: Execution | None) -> None:
    if parent is not None and not parent.status.terminal:
        reason = f"Its SUB_WORKFLOW task in parent workflow {parent.workflow_id} ended"
    else:
        status = parent.status.value if parent is not None else "unknown"
        reason = f"Parent workflow has been terminated with status {status}"
    lifecycle.terminate(turn, reason)


async def _child_reopened(x: Executions, s: Session, parent: Execution, child_id: str) -> Outcome | None:
    child = await get_execution(s, child_id)
    if child is None or child.parent_task_id is None:
        return None
    state = await x.state_of(s, parent, tasks="all")
    task = state.tasks.get(child.parent_task_id)
    if task is None:
        return None
    await x.step(state, lambda turn: lifecycle.child_reopened(turn, task))
    return await x.persist(s, state)
