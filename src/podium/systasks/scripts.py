"""Scripts handed on by the decide pass (`podium.engine.operators.scripted`): evaluated here,
outside any unit of work, on the sandbox's background workers with the full limits, and reported
as a worker would report its task."""

from __future__ import annotations

from podium.engine.operators import OPERATORS
from podium.engine.operators.scripted import Scripted
from podium.model.definitions import WorkflowTask
from podium.model.records import Task
from podium.sandbox import Sandbox
from podium.systasks.runner import Handler, Report

SCRIPTED_TYPES = tuple(name for name, operator in OPERATORS.items() if isinstance(operator, Scripted))


class ScriptTask:
    def __init__(self, operator: Scripted, sandbox: Sandbox) -> None:
        self.operator = operator
        self.sandbox = sandbox

    async def __call__(self, task: Task) -> Report:
        wt = WorkflowTask.model_validate(task.workflow_task)
        outcome = await self.sandbox.off_loop(self.operator.outcome, self.sandbox, task, wt, quick=False)
        return Report(outcome.status, output=outcome.output, reason=outcome.reason)


def script_handlers(sandbox: Sandbox) -> dict[str, Handler]:
    background = sandbox.background()
    return {name: ScriptTask(OPERATORS[name], background) for name in SCRIPTED_TYPES}  # type: ignore[arg-type]
