"""INLINE (and the legacy LAMBDA): a JavaScript script over the task's input (`$`); its value is
the output `result`. A script that fails ends the task FAILED with `output.error`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.operators.base import SyncOperator
from podium.engine.scripting import ScriptError
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class Inline(SyncOperator):
    def script(self, task: Task, wt: WorkflowTask) -> str:
        return str(task.input.get("expression") or wt.expression or "")

    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        bindings = {k: v for k, v in task.input.items() if k not in ("expression", "evaluatorType")}
        try:
            task.output = {"result": turn.ctx.scripts.javascript(self.script(task, wt), bindings)}
        except ScriptError as exc:
            task.output = {"error": str(exc)}
            turn.end_task(task, TaskStatus.FAILED, f"Error evaluating the script: {exc}")
            return
        turn.end_task(task, TaskStatus.COMPLETED)


class Lambda(Inline):
    """Its `scriptExpression` is a function body (it may `return`), as Conductor runs it."""

    def script(self, task: Task, wt: WorkflowTask) -> str:
        body = str(task.input.get("scriptExpression") or wt.script_expression or "")
        return f"(function scriptFun() {{ {body}\n}})()"
