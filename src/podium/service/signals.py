"""Signals (`POST /tasks/{workflowId}/{status}/signal[/sync]`): give the open WAIT or HUMAN task of a
workflow (or of its running sub-workflows, depth first) its status and output."""

from __future__ import annotations

from typing import Any

from podium.errors import NotFound
from podium.model.enums import ReturnStrategy, TaskStatus
from podium.service.execute import find_blocking, wait_for_block
from podium.service.tasks import Tasks
from podium.service.workflows import Workflows


async def signal(workflows: Workflows, tasks: Tasks, workflow_id: str, status: TaskStatus,
                 output: dict[str, Any]) -> dict[str, Any] | None:
    """The task signalled (as JSON), or None when nothing in the workflow waits for a signal."""
    found = await find_blocking(workflows, await workflows.get(workflow_id, True), [])
    if found is None:
        return None
    task = found[1]
    await tasks.update_by_id(task["workflowInstanceId"], task["taskId"], status, output)
    return task


async def signal_and_wait(workflows: Workflows, tasks: Tasks, workflow_id: str, status: TaskStatus,
                          output: dict[str, Any], *, strategy: ReturnStrategy, timeout_ms: int) -> dict[str, Any]:
    task = await signal(workflows, tasks, workflow_id, status, output)
    if task is None:
        raise NotFound(f"Found no blocked task in workflow {workflow_id} to signal")
    return await wait_for_block(tasks.x, workflows, workflow_id, request_id=None, wait_until_refs=[],
                                wait_seconds=max(timeout_ms, 0) / 1000, strategy=strategy,
                                skip_task_id=task["taskId"])
