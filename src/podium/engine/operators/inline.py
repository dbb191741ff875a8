"""INLINE (and the legacy LAMBDA): a JavaScript script over the task's input (`$`); its value is
the output `result`. A script that fails ends the task FAILED with `output.error`."""

from __future__ import annotations

from podium.engine.operators.scripted import Outcome, Scripted
from podium.engine.scripting import ScriptError, Scripts
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus
from podium.model.records import Task


class Inline(Scripted):
    def script(self, task: Task, wt: WorkflowTask) -> str:
        return str(task.input.get("expression") or wt.expression or "")

    def outcome(self, scripts: Scripts, task: Task, wt: WorkflowTask, *, quick: bool) -> Outcome:
        bindings = {k: v for k, v in task.input.items() if k not in ("expression", "evaluatorType")}
        try:
            value = scripts.javascript(self.script(task, wt), bindings, quick=quick)
        except ScriptError as exc:
            return Outcome(TaskStatus.FAILED, {"error": str(exc)}, f"Error evaluating the script: {exc}")
        return Outcome(TaskStatus.COMPLETED, {"result": value})


class Lambda(Inline):
    """Its `scriptExpression` is a function body (it may `return`), as Conductor runs it."""

    def script(self, task: Task, wt: WorkflowTask) -> str:
        body = str(task.input.get("scriptExpression") or wt.script_expression or "")
        return f"(function scriptFun() {{ {body}\n}})()"
