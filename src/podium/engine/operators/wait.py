"""WAIT and HUMAN: tasks that stay IN_PROGRESS until something outside completes them.

WAIT with `duration` ("10s", "2 minutes", "1d 3h") or `until` ("2026-12-24 18:00 CET") completes
by itself then, through the task's durable timer; without either it waits for an update (task
update, signal, event handler). HUMAN always waits for an update. Neither has a response timeout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.engine.operators.base import Operator
from podium.engine.timeouts import WAKE_AT
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task
from podium.model.validation import parse_duration, parse_until

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Human(Operator):
    mode = "async"

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        task = turn.create_task(wt, task_type=wt.type, status=TaskStatus.IN_PROGRESS, previous=previous,
                                suffix=suffix)
        task.start_time = turn.now
        task.response_timeout_seconds = 0
        return task


class Wait(Human):
    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        task = super().schedule(turn, wt, previous=previous, suffix=suffix)
        try:
            wake = wake_time(task.input, turn.now)
        except ValueError as exc:
            turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR, str(exc))
            return task
        if wake is not None:
            task.extra[WAKE_AT] = wake
            turn.arm_timer(task)
        return task


def wake_time(data: dict[str, Any], now: int) -> int | None:
    duration, until = data.get("duration"), data.get("until")
    if duration and until:
        raise ValueError("Both 'duration' and 'until' specified. Please provide only one input")
    if duration:
        try:
            return now + int(parse_duration(str(duration)).total_seconds() * 1000)
        except ValueError:
            raise ValueError(f"Unable to parse duration: {duration}") from None
    if until:
        try:
            return int(parse_until(str(until)).timestamp() * 1000)
        except ValueError:
            raise ValueError(f"Unable to parse until: {until}") from None
    return None
