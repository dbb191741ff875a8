"""How a SUB_WORKFLOW task follows its child workflow's end (the operator is
`operators.sub_workflow`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.engine.decider import decide
from podium.model.enums import TaskStatus, WorkflowStatus
from podium.model.records import Execution, Task

if TYPE_CHECKING:
    from podium.engine.turn import Turn

CHILD_TO_TASK = {WorkflowStatus.COMPLETED: TaskStatus.COMPLETED, WorkflowStatus.FAILED: TaskStatus.FAILED,
                 WorkflowStatus.TERMINATED: TaskStatus.CANCELED, WorkflowStatus.TIMED_OUT: TaskStatus.TIMED_OUT}


def child_ended(turn: Turn, task: Task, child: Execution) -> None:
    """The child reached a terminal status: its task ends the same way, then the parent decides."""
    status = CHILD_TO_TASK.get(child.status)
    if status is None or task.status.terminal:
        return
    task.sub_workflow_id = child.workflow_id
    task.output = dict(child.output) | {"subWorkflowId": child.workflow_id}
    reason = None if status == TaskStatus.COMPLETED else (
        f"Sub workflow {child.workflow_id} failure reason: {child.reason}")
    turn.end_task(task, status, reason, stop_child=False)
    decide(turn)
