"""JSON_JQ_TRANSFORM: the jq program `queryExpression` over the task's other inputs; output
`result` (the first value) and `resultList` (all of them), or `error`."""

from __future__ import annotations

from podium.engine.operators.scripted import Outcome, Scripted
from podium.engine.scripting import ScriptError, Scripts
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task


class JqTransform(Scripted):
    def outcome(self, scripts: Scripts, task: Task, wt: WorkflowTask, *, quick: bool) -> Outcome:
        query = str(task.input.get("queryExpression") or "")
        document = {k: v for k, v in task.input.items() if k != "queryExpression"}
        try:
            values = scripts.jq(query, document, quick=quick)
        except ScriptError as exc:
            return Outcome(TaskStatus.FAILED, {"error": str(exc)}, f"Error in jq query: {exc}")
        return Outcome(TaskStatus.COMPLETED, {"result": values[0] if values else None, "resultList": values})
