"""JSON_JQ_TRANSFORM: the jq program `queryExpression` over the task's other inputs; output
`result` (the first value) and `resultList` (all of them), or `error`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.operators.base import SyncOperator
from podium.engine.scripting import ScriptError
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class JqTransform(SyncOperator):
    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        query = str(task.input.get("queryExpression") or "")
        document = {k: v for k, v in task.input.items() if k != "queryExpression"}
        try:
            values = turn.ctx.scripts.jq(query, document)
        except ScriptError as exc:
            task.output = {"error": str(exc)}
            turn.end_task(task, TaskStatus.FAILED, f"Error in jq query: {exc}")
            return
        task.output = {"result": values[0] if values else None, "resultList": values}
        turn.end_task(task, TaskStatus.COMPLETED)
