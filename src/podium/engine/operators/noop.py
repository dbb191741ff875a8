"""NOOP: completes at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.operators.base import SyncOperator
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Noop(SyncOperator):
    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        turn.end_task(task, TaskStatus.COMPLETED)
