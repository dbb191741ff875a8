"""SIMPLE: a task a worker polls, runs and reports back (also every unknown, user-defined type)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.operators.base import Operator
from podium.engine.schemas import input_problem
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Simple(Operator):
    mode = "worker"

    def task_type(self, wt: WorkflowTask) -> str:
        return wt.name

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        task_type = self.task_type(wt)
        task = turn.create_task(
            wt, task_type=task_type, previous=previous, suffix=suffix,
            input_override=previous.input if previous is not None else None,
        )
        problem = input_problem(turn.ctx, turn.task_def(wt), task.input)
        if problem is not None:  # never queued: it fails as it is scheduled
            turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR, problem)
            return task
        delay_ms += (wt.start_delay or 0) * 1000 if previous is None else 0
        if delay_ms:
            task.start_delay_seconds = task.callback_after_seconds = delay_ms // 1000
        task.domain = self.domain(turn, task_type)
        turn.enqueue(task, delay_ms)
        turn.arm_timer(task)
        return task

    def domain(self, turn: Turn, task_type: str) -> str | None:
        return turn.resolve_domain(task_type)


class UserDefined(Simple):
    """A type name Podium does not know: a worker task polled under that type name."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def task_type(self, wt: WorkflowTask) -> str:
        return self.type_name


SIMPLE = Simple()
