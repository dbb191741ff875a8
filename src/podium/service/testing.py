"""`POST /workflow/test`: run a workflow with its worker tasks answered from mocks.

The run is routed to a fresh task domain (`taskToDomain["*"]`, inherited by sub-workflows), so
real workers never see it. Each pending task is completed with the next mock listed for its
reference name, until the workflow ends or no mock is left for what it waits on. Tasks the server
drives itself (HTTP, SUB_WORKFLOW, EVENT to a broker, a timed WAIT) are waited for; a sub-workflow
named in `subWorkflowTestRequest` (by the SUB_WORKFLOW task's reference name) is driven by its own
mocks, and a SUB_WORKFLOW task with a mock of its own is answered by that mock instead.
"""

from __future__ import annotations

import time
from typing import Any

from podium.ids import new_id
from podium.model.definitions import StartWorkflowRequest, TaskMock, WorkflowTestRequest
from podium.model.records import base_ref
from podium.service import starts
from podium.service.executions import workflow_channel
from podium.service.tasks import Tasks
from podium.service.workflows import Workflows

MAX_STEPS = 10_000
IDLE_LIMIT_S = 5.0  # how long to wait for a server-driven task before answering with the run as it is
SELF_DRIVEN = frozenset({"HTTP", "SUB_WORKFLOW", "START_WORKFLOW", "EVENT"})
_OPEN = ("SCHEDULED", "IN_PROGRESS")


async def run_test(workflows: Workflows, tasks: Tasks, req: WorkflowTestRequest) -> dict[str, Any]:
    start = StartWorkflowRequest(**{name: getattr(req, name) for name in StartWorkflowRequest.model_fields})
    start.task_to_domain = {"*": f"test-{new_id()}"}
    workflow_id = await starts.start(workflows.x, start)
    return await _drive(workflows, tasks, workflow_id, req)


async def _drive(workflows: Workflows, tasks: Tasks, workflow_id: str, req: WorkflowTestRequest) -> dict[str, Any]:
    mocks = {ref: list(outputs) for ref, outputs in req.task_ref_to_mock_output.items()}
    children = {ref: WorkflowTestRequest.model_validate(sub) for ref, sub in req.sub_workflow_test_request.items()}
    driven: set[str] = set()
    idle_since = time.monotonic()
    for _ in range(MAX_STEPS):
        workflow = await workflows.get(workflow_id, True)
        if workflow["status"] not in ("RUNNING", "PAUSED"):
            return workflow
        pending = [t for t in workflow["tasks"] if t["status"] in _OPEN]
        answered = [(t, m) for t in pending if (m := _next_mock(mocks, t["referenceTaskName"])) is not None]
        for task, mock in answered:
            await tasks.update_by_id(workflow_id, task["taskId"], mock.status, mock.output)
        for task in pending:
            child_req = children.get(task["referenceTaskName"]) or children.get(base_ref(task["referenceTaskName"]))
            child_id = task.get("subWorkflowId")
            if child_req is not None and child_id and child_id not in driven:
                driven.add(child_id)
                await _drive(workflows, tasks, child_id, child_req)
                answered.append((task, TaskMock()))
        if answered:
            idle_since = time.monotonic()
            continue
        waiting = [t for t in pending if t["taskType"] in SELF_DRIVEN or _timed_wait(t)]
        remaining = IDLE_LIMIT_S - (time.monotonic() - idle_since)
        if not waiting or remaining <= 0:
            return workflow
        await workflows.x.waker.wait(workflow_channel(workflow_id), min(remaining, 0.05))
    return await workflows.get(workflow_id, True)


def _timed_wait(task: dict[str, Any]) -> bool:
    data = task.get("inputData") or {}
    return bool(task["taskType"] == "WAIT" and (data.get("duration") or data.get("until")))


def _next_mock(mocks: dict[str, list[TaskMock]], ref_name: str) -> TaskMock | None:
    for key in (ref_name, base_ref(ref_name)):
        queue = mocks.get(key)
        if queue:
            return queue.pop(0)
    return None
