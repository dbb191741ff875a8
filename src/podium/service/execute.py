"""`POST /workflow/execute`: start, then wait (woken by each commit, not by polling) until the
workflow ends, a blocking task appears, or the time runs out; answer per the return strategy."""

from __future__ import annotations

import time
import uuid
from typing import Any

from podium.model.definitions import StartWorkflowRequest
from podium.model.enums import ReturnStrategy
from podium.service import starts
from podium.service.executions import Executions, workflow_channel
from podium.service.workflows import Workflows

_RUN_KEYS = ("workflowId", "correlationId", "input", "output", "priority", "variables", "tasks", "createdBy",
             "createTime", "status", "updateTime")
_TASK_RUN_KEYS = ("taskType", "taskId", "referenceTaskName", "retryCount", "taskDefName", "retriedTaskId",
                  "workflowType", "reasonForIncompletion", "correlationId", "status", "updateTime")


def blocking_task(workflow: dict[str, Any], wait_until_refs: list[str]) -> dict[str, Any] | None:
    """A WAIT/HUMAN task that only an outside signal ends, or a finished task the caller waits for."""
    tasks: list[dict[str, Any]] = workflow.get("tasks", [])
    for task in tasks:
        done = task["status"] not in ("SCHEDULED", "IN_PROGRESS")
        ref = task["referenceTaskName"]
        if done and (ref in wait_until_refs or ref.split("__")[0] in wait_until_refs):
            return task
        if not done and task["taskType"] in ("WAIT", "HUMAN"):
            inputs = task.get("inputData", {})
            if task["taskType"] == "HUMAN" or not (inputs.get("duration") or inputs.get("until")):
                return task
    return None


async def execute_and_wait(
    x: Executions, workflows: Workflows, req: StartWorkflowRequest, *, request_id: str | None,
    wait_until_refs: list[str], wait_seconds: int, strategy: ReturnStrategy,
) -> dict[str, Any]:
    request_id = request_id or str(uuid.uuid4())
    workflow_id = await starts.start(x, req)
    deadline = time.monotonic() + wait_seconds
    while True:
        workflow = await workflows.get(workflow_id, True)
        done = workflow["status"] not in ("RUNNING", "PAUSED")
        blocker = blocking_task(workflow, wait_until_refs)  # a finished awaited task counts when done too
        remaining = deadline - time.monotonic()
        if done or blocker is not None or remaining <= 0:
            return _answer(workflow, blocker, strategy, request_id, timed_out=not done and blocker is None)
        await x.waker.wait(workflow_channel(workflow_id), remaining)


def _answer(workflow: dict[str, Any], blocker: dict[str, Any] | None, strategy: ReturnStrategy,
            request_id: str, *, timed_out: bool) -> dict[str, Any]:
    common = {"responseType": strategy.value, "requestId": request_id,
              "targetWorkflowId": workflow["workflowId"], "targetWorkflowStatus": workflow["status"],
              "signalTimeout": timed_out}
    if strategy in (ReturnStrategy.BLOCKING_TASK, ReturnStrategy.BLOCKING_TASK_INPUT) and blocker is not None:
        return common | _task_run(blocker)
    return common | {k: workflow[k] for k in _RUN_KEYS if k in workflow}


def _task_run(task: dict[str, Any]) -> dict[str, Any]:
    """Conductor's TaskRun (NotificationResult.toTaskRun): the task's data go in `input`/`output`."""
    run = {k: task[k] for k in _TASK_RUN_KEYS if k in task}
    run |= {"workflowId": task["workflowInstanceId"], "input": task.get("inputData", {}),
            "output": task.get("outputData", {}), "priority": task.get("workflowPriority", 0)}
    if task.get("workerId"):
        run["createdBy"] = task["workerId"]
    if task.get("startTime"):
        run["createTime"] = task["startTime"]
    return run
