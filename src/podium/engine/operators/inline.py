"""INLINE (and the legacy LAMBDA): a script over the task's input (`$`); its value is the output
`result`. A script that fails ends the task FAILED with `output.error`.

INLINE's `evaluatorType` is `javascript` (the default) or its alias `graaljs`, or `value-param`
(the expression names an input key). What registration accepts and Conductor checks only when the
task runs fails the task here with Conductor's message (`Inline.java`, `Lambda.java`): an empty
expression, an evaluator this server does not run (`python` included).
"""

from __future__ import annotations

from typing import Any

from podium.engine.operators.scripted import Outcome, Scripted
from podium.engine.scripting import ScriptError, Scripts
from podium.model.definitions import EVALUATORS, EVALUATORS_RUN, WorkflowTask, lambda_script
from podium.model.enums import TaskStatus
from podium.model.records import Task

_EMPTY = "Empty '{}' in {} task's input parameters. A non-empty String value must be provided."


class Inline(Scripted):
    kind = "Inline"
    source_key = "expression"

    def script(self, task: Task, wt: WorkflowTask) -> str:
        return str(task.input.get("expression") or wt.expression or "")

    def evaluator(self, task: Task) -> str:
        return str(task.input.get("evaluatorType") or "javascript")

    def outcome(self, scripts: Scripts, task: Task, wt: WorkflowTask, *, quick: bool) -> Outcome:
        evaluator, source = self.evaluator(task), self.script(task, wt)
        if evaluator not in EVALUATORS:
            return _failed(f"Unknown evaluator '{evaluator}' in Inline task. This server runs {EVALUATORS_RUN}.")
        if not source.strip():
            return _failed(_EMPTY.format(self.source_key, self.kind))
        bindings = {k: v for k, v in task.input.items() if k not in ("expression", "evaluatorType")}
        if evaluator == "value-param":
            return Outcome(TaskStatus.COMPLETED, {"result": task.input.get(source)})
        try:
            value = scripts.javascript(self.wrapped(source), bindings, quick=quick)
        except ScriptError as exc:
            return Outcome(TaskStatus.FAILED, {"error": str(exc)}, f"Error evaluating the script: {exc}")
        return Outcome(TaskStatus.COMPLETED, {"result": value})

    def wrapped(self, source: str) -> str:
        return source


class Lambda(Inline):
    """Its `scriptExpression` is a function body (it may `return`), as Conductor runs it."""

    kind = "Lambda"
    source_key = "scriptExpression"

    def script(self, task: Task, wt: WorkflowTask) -> str:
        return str(task.input.get("scriptExpression") or wt.script_expression or "")

    def evaluator(self, task: Task) -> str:
        return "javascript"

    def wrapped(self, source: str) -> str:
        return lambda_script(source)


def _failed(reason: str) -> Outcome:
    output: dict[str, Any] = {"error": reason}
    return Outcome(TaskStatus.FAILED, output, reason)
