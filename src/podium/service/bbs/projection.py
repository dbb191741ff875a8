"""Keeps a BBS task's row in step when its execution is changed through another dialect: a
Conductor worker polls the domain's queue and updates the task, an operator terminates, retries or
reruns the workflow. The BBS operations write the row themselves; this covers everything else."""

from __future__ import annotations

from podium.engine.state import ExecutionState
from podium.model.bbs import TASK_REF, BbsTask, State
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Task
from podium.service.bbs.changes import EVENTS_CHANNEL, Change, now_ns, record
from podium.service.executions import Executions, Outcome
from podium.store import bbs as store
from podium.store.session import Session


class Projection:
    def __init__(self, x: Executions) -> None:
        self.x = x

    async def changed(self, s: Session, state: ExecutionState, outcome: Outcome) -> None:
        task = await store.get(s, state.execution.workflow_id)
        if task is None:
            return
        c = Change(self.x, s, state.execution, task, task.copy(), outcome)
        if state.execution.status.terminal:
            self._ended(c, state)
        else:
            self._running(c, state.latest(TASK_REF))
        if c.task != c.before:
            await record(c, callback=True)
            outcome.channels.add(EVENTS_CHANNEL)

    async def claimed(self, s: Session, engine_task: Task) -> None:
        task = await store.get(s, engine_task.workflow_id)
        if task is None:
            return
        c = Change(self.x, s, None, task, task.copy())
        self._running(c, engine_task)
        if c.task != c.before:
            await record(c)

    def _ended(self, c: Change, state: ExecutionState) -> None:
        if c.task.state not in (State.PENDING, State.RUNNING):
            return
        ex, engine_task = state.execution, state.latest(TASK_REF)
        failed = ex.status != WorkflowStatus.COMPLETED
        reason = ((engine_task.reason if engine_task else None) or ex.reason or "") if failed else ""
        result = engine_task.output.get("result", "") if engine_task else ""
        c.task.complete(now_ns(self.x), failed=failed, reason=reason, result=str(result), clear_cell=True)

    def _running(self, c: Change, engine_task: Task | None) -> None:
        if engine_task is None or engine_task.status not in (TaskStatus.SCHEDULED, TaskStatus.IN_PROGRESS):
            return
        running = engine_task.status == TaskStatus.IN_PROGRESS
        target = State.RUNNING if running else State.PENDING
        cell_id = (engine_task.worker_id or "") if running else c.task.cell_id
        if c.task.state == target and c.task.cell_id == cell_id:
            return
        if c.task.state in (State.COMPLETED, State.RESOLVING):  # retried or rerun: runs again
            _reopen(c.task)
        c.task.state, c.task.cell_id, c.task.updated_at = target, cell_id, now_ns(self.x)


def _reopen(task: BbsTask) -> None:
    task.first_completed_at = 0
    task.failed = False
    task.failure_reason = task.result = ""
