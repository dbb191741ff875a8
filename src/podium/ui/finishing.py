"""Finishing a task by hand: an operator completes or fails a WAIT or HUMAN task that waits for
someone (IN_PROGRESS), with its output as JSON and, failing it, a reason. It goes through the same
`Tasks.update` as `POST /api/tasks`, so the API's checks apply; the audit entry names the execution
too, so that its History lists it."""

from __future__ import annotations

from typing import Any

from podium.api import jsonbody
from podium.api.conductor.services import Services
from podium.errors import BadRequest, Conflict
from podium.model.definitions import TaskResult
from podium.model.enums import TaskStatus
from podium.store.pending import note_targets

#: The task types an operator may finish: those that wait for a person or an outside signal.
BY_HAND = frozenset({"WAIT", "HUMAN"})
#: The form's outcome and the status it sets.
OUTCOMES = {"complete": TaskStatus.COMPLETED, "fail": TaskStatus.FAILED}


def finishable(task: dict[str, Any]) -> bool:
    return task.get("taskType") in BY_HAND and task.get("status") == "IN_PROGRESS"


async def finish_task(svc: Services, task_id: str, outcome: str, output_text: str, reason: str) -> dict[str, Any]:
    """Complete or fail the task; returns it as it is now."""
    status = OUTCOMES.get(outcome)
    if status is None:
        raise BadRequest(f"Unknown outcome {outcome!r}; a task is completed or failed (complete, fail)")
    task = await svc.tasks.get(task_id)
    note_targets(str(task["workflowInstanceId"]))
    if not finishable(task):
        raise Conflict(f"Only a WAIT or HUMAN task in progress is finished by hand; this is a {task.get('taskType')} "
                       f"task, {task.get('status')}")
    output = jsonbody.loads(output_text) if output_text.strip() else {}
    if not isinstance(output, dict):
        raise BadRequest("The output must be a JSON object")
    if status == TaskStatus.FAILED and not reason.strip():
        raise BadRequest("Give a reason to fail the task")
    await svc.tasks.update(TaskResult(workflow_instance_id=task["workflowInstanceId"], task_id=task_id,
                                      status=status, output_data=output, reason_for_incompletion=reason or None))
    found: dict[str, Any] = await svc.tasks.get(task_id)
    return found
