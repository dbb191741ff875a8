"""TERMINATE: ends the workflow at once with the status it names; FAILED and TERMINATED go the way
of any failure, so the failure workflow runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.engine.flow import end_workflow
from podium.engine.operators.base import SyncOperator
from podium.model.definitions import WorkflowTask
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn

STATUSES = {"COMPLETED": WorkflowStatus.COMPLETED, "FAILED": WorkflowStatus.FAILED,
            "TERMINATED": WorkflowStatus.TERMINATED}


class Terminate(SyncOperator):
    def execute(self, turn: Turn, task: Task, wt: WorkflowTask) -> None:
        status = STATUSES.get(str(task.input.get("terminationStatus", "")).upper())
        if status is None:  # registration refuses this; an expression may still produce it
            turn.end_task(task, TaskStatus.FAILED_WITH_TERMINAL_ERROR,
                          f"Invalid terminationStatus: {task.input.get('terminationStatus')}")
            return
        output = _workflow_output(task.input.get("workflowOutput"))
        task.output = output
        turn.end_task(task, TaskStatus.COMPLETED)
        reason = task.input.get("terminationReason")
        end_workflow(turn, status, str(reason) if reason is not None else None, failed_task=task,
                     run_failure_workflow=status != WorkflowStatus.COMPLETED, output=output)


def _workflow_output(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    return dict(value) if isinstance(value, dict) else {"output": value}
