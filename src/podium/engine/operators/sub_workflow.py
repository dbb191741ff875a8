"""SUB_WORKFLOW: runs another workflow as one task.

The child is started by the server's system-task runner (`podium.systasks.workflows`) with an id
derived from the task, so a second attempt at starting it finds the first. The child's end comes
back to the parent as a durable message (`CHILD_ENDED`, see `engine.subworkflow`); ending the task
first (the parent was terminated, the task timed out) terminates the child the same way
(`STOP_CHILD`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.inputs import evaluate
from podium.engine.operators.system import Queued
from podium.model.definitions import WorkflowTask
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn


class SubWorkflow(Queued):
    """Its input holds the child's resolved parameters (`subWorkflowName`, `subWorkflowVersion`,
    `subWorkflowTaskToDomain`, `subWorkflowDefinition`) and `workflowInput`, the child's input,
    beside the task's own resolved input, as in Conductor."""

    def schedule(self, turn: Turn, wt: WorkflowTask, *, previous: Task | None = None,
                 delay_ms: int = 0, suffix: str = "") -> Task:
        task = super().schedule(turn, wt, previous=previous, delay_ms=delay_ms, suffix=suffix)
        if previous is None:
            params = wt.sub_workflow_param.to_wire() if wt.sub_workflow_param else {}
            inline = params.pop("workflowDefinition", None)  # its own ${...} are the child's to resolve
            resolved = evaluate(turn.state, params, env=turn.ctx.env) or {}
            resolved["workflowDefinition"] = (evaluate(turn.state, inline, env=turn.ctx.env)
                                              if isinstance(inline, str) else inline)
            task.input = task.input | {
                "subWorkflowName": resolved.get("name"), "subWorkflowVersion": resolved.get("version"),
                "subWorkflowTaskToDomain": resolved.get("taskToDomain"),
                "subWorkflowDefinition": resolved.get("workflowDefinition"),
                "subWorkflowPriority": resolved.get("priority"),
                "subWorkflowIdempotencyKey": resolved.get("idempotencyKey"),
                "subWorkflowIdempotencyStrategy": resolved.get("idempotencyStrategy"),
                "workflowInput": dict(task.input)}
        return task
