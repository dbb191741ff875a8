"""SET_VARIABLE: its input is merged into the workflow's variables (`${workflow.variables.k}`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from podium.engine.operators.base import SyncOperator
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn

MAX_VARIABLES_BYTES = 256 * 1024


class SetVariable(SyncOperator):
    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        ex = turn.execution
        merged = ex.variables | task.input
        size = len(orjson.dumps(merged))
        limit = min(MAX_VARIABLES_BYTES, turn.ctx.max_payload_bytes)  # the store keeps nothing larger
        if size > limit:  # nothing is merged: the variables stay as they were
            reason = (f"The variables payload size: {size} of workflow: {ex.workflow_id} is greater than the "
                      f"permissible limit: {limit} bytes")
            turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason)
            return
        ex.variables = merged
        turn.state.touch_execution()
        turn.end_task(task, TaskStatus.COMPLETED)
