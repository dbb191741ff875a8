"""`POST /workflow/execute` and the signal endpoints: start (or signal), then wait (woken by each
commit, not by polling) until the workflow ends, a blocking task appears, or the time runs out;
answer per the return strategy.

A blocking task is a WAIT without `duration`/`until` or a HUMAN task that is still open (only an
outside signal ends it), or a finished task the caller named in `waitUntilTaskRef`. Running
sub-workflows are searched too, depth first; BLOCKING_WORKFLOW answers with the workflow that holds
the blocking task.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from podium.errors import NotFound
from podium.model.definitions import StartWorkflowRequest
from podium.model.enums import ReturnStrategy
from podium.service import starts
from podium.service.executions import Executions, workflow_channel
from podium.service.workflows import Workflows

_RUN_KEYS = ("workflowId", "correlationId", "input", "output", "priority", "variables", "tasks", "createdBy",
             "createTime", "status", "updateTime")
_TASK_RUN_KEYS = ("taskType", "taskId", "referenceTaskName", "retryCount", "taskDefName", "retriedTaskId",
                  "workflowType", "reasonForIncompletion", "correlationId", "status", "updateTime")


Found = tuple[dict[str, Any], dict[str, Any]]  # (the workflow that holds it, the blocking task)
SUB_WORKFLOW_POLL_S = 0.05  # a child's commits do not wake the parent's waiters: look again this often
#: The longest wait a caller may ask for (`waitForSeconds`, `timeoutMillis`); a longer one is cut to
#: it, and the answer says `signalTimeout` as for any wait that ran out.
MAX_WAIT_S = 60.0


def blocking_task(workflow: dict[str, Any], wait_until_refs: list[str]) -> dict[str, Any] | None:
    """A WAIT/HUMAN task that only an outside signal ends, or a finished task the caller waits for."""
    tasks: list[dict[str, Any]] = workflow.get("tasks", [])
    for task in tasks:
        done = task["status"] not in ("SCHEDULED", "IN_PROGRESS")
        ref = task["referenceTaskName"]
        if done and (ref in wait_until_refs or ref.split("__")[0] in wait_until_refs):
            return task
        if not done and _signal_only(task):
            return task
    return None


def _signal_only(task: dict[str, Any]) -> bool:
    if task["taskType"] == "HUMAN":
        return True
    inputs = task.get("inputData", {})
    return bool(task["taskType"] == "WAIT" and not (inputs.get("duration") or inputs.get("until")))


def _running_children(workflow: dict[str, Any]) -> list[str]:
    return [t["subWorkflowId"] for t in workflow.get("tasks", [])
            if t["taskType"] == "SUB_WORKFLOW" and t["status"] == "IN_PROGRESS" and t.get("subWorkflowId")]


async def find_blocking(workflows: Workflows, workflow: dict[str, Any], wait_until_refs: list[str]) -> Found | None:
    """The first blocking task in the workflow, else in its running sub-workflows, depth first."""
    task = blocking_task(workflow, wait_until_refs)
    if task is not None:
        return workflow, task
    for child_id in _running_children(workflow):
        try:
            child = await workflows.get(child_id, True)
        except NotFound:
            continue
        found = await find_blocking(workflows, child, wait_until_refs)
        if found is not None:
            return found
    return None


async def execute_and_wait(
    x: Executions, workflows: Workflows, req: StartWorkflowRequest, *, request_id: str | None,
    wait_until_refs: list[str], wait_seconds: int, strategy: ReturnStrategy,
) -> dict[str, Any]:
    workflow_id = await starts.start(x, req)
    return await wait_for_block(x, workflows, workflow_id, request_id=request_id, wait_until_refs=wait_until_refs,
                                wait_seconds=wait_seconds, strategy=strategy)


async def wait_for_block(
    x: Executions, workflows: Workflows, workflow_id: str, *, request_id: str | None, wait_until_refs: list[str],
    wait_seconds: float, strategy: ReturnStrategy, skip_task_id: str | None = None,
) -> dict[str, Any]:
    request_id = request_id or str(uuid.uuid4())
    deadline = time.monotonic() + min(max(wait_seconds, 0), MAX_WAIT_S)
    while True:
        workflow = await workflows.get(workflow_id, True)
        done = workflow["status"] not in ("RUNNING", "PAUSED")
        found = await find_blocking(workflows, workflow, wait_until_refs)  # an awaited finished task counts too
        if found is not None and found[1]["taskId"] == skip_task_id:
            found = None
        remaining = deadline - time.monotonic()
        if done or found is not None or remaining <= 0:
            return _answer(workflow, found, strategy, request_id, timed_out=not done and found is None)
        if _running_children(workflow):
            remaining = min(remaining, SUB_WORKFLOW_POLL_S)
        await x.waker.wait(workflow_channel(workflow_id), remaining)


def _answer(workflow: dict[str, Any], found: Found | None, strategy: ReturnStrategy,
            request_id: str, *, timed_out: bool) -> dict[str, Any]:
    common = {"responseType": strategy.value, "requestId": request_id,
              "targetWorkflowId": workflow["workflowId"], "targetWorkflowStatus": workflow["status"],
              "signalTimeout": timed_out}
    if found is not None and strategy in (ReturnStrategy.BLOCKING_TASK, ReturnStrategy.BLOCKING_TASK_INPUT):
        return common | _task_run(found[1])
    if found is not None and strategy == ReturnStrategy.BLOCKING_WORKFLOW:
        workflow = found[0]
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
