"""Firing one durable timer, through the same unit of work as an API call (so it fires once)."""

from __future__ import annotations

from podium.engine.task_updates import on_task_timer, on_workflow_timer
from podium.engine.timeouts import TASK_TIMER, WORKFLOW_TIMER
from podium.model.records import Timer
from podium.service.executions import Executions


async def fire(x: Executions, timer: Timer) -> None:
    async with x.store.unit() as s:
        if not await s.take_timer(timer):
            return  # re-armed or fired elsewhere meanwhile
        ex = await s.get_execution(timer.workflow_id, lock=True)
        if ex is None or ex.status.terminal:
            return
        state = await x.state_of(s, ex)
        turn = x.turn(state)
        if timer.kind == TASK_TIMER:
            task = state.tasks.get(timer.key)
            if task is None:
                return
            on_task_timer(turn, task)
        elif timer.kind == WORKFLOW_TIMER:
            on_workflow_timer(turn)
        outcome = await x.persist(s, state)
    x.after_commit(outcome)
