"""`POST /workflow/test`: run a workflow with its worker tasks answered from mocks.

The run is routed to a fresh task domain (`taskToDomain["*"]`), so real workers never see it, and
each pending task is completed with the next mock listed for its reference name, until the
workflow ends or no mock is left for what it waits on.
"""

from __future__ import annotations

from typing import Any

from podium.ids import new_id
from podium.model.definitions import StartWorkflowRequest, TaskMock, WorkflowTestRequest
from podium.model.records import base_ref
from podium.service import starts
from podium.service.tasks import Tasks
from podium.service.workflows import Workflows

MAX_STEPS = 10_000


async def run_test(workflows: Workflows, tasks: Tasks, req: WorkflowTestRequest) -> dict[str, Any]:
    start = StartWorkflowRequest(**{name: getattr(req, name) for name in StartWorkflowRequest.model_fields})
    start.task_to_domain = {"*": f"test-{new_id()}"}
    workflow_id = await starts.start(workflows.x, start)
    mocks = {ref: list(outputs) for ref, outputs in req.task_ref_to_mock_output.items()}
    for _ in range(MAX_STEPS):
        workflow = await workflows.get(workflow_id, True)
        pending = [t for t in workflow["tasks"] if t["status"] in ("SCHEDULED", "IN_PROGRESS")]
        answered = [(t, m) for t in pending if (m := _next_mock(mocks, t["referenceTaskName"])) is not None]
        if workflow["status"] not in ("RUNNING", "PAUSED") or not answered:
            return workflow
        for task, mock in answered:
            await tasks.update_by_id(workflow_id, task["taskId"], mock.status, mock.output)
    return await workflows.get(workflow_id, True)


def _next_mock(mocks: dict[str, list[TaskMock]], ref_name: str) -> TaskMock | None:
    for key in (ref_name, base_ref(ref_name)):
        queue = mocks.get(key)
        if queue:
            return queue.pop(0)
    return None
