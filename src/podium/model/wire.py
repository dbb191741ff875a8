"""Records rendered as Conductor's wire JSON (Workflow, Task, summaries). Nulls are omitted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from podium.model.records import Execution, Task


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def with_times(body: dict[str, Any], create_time: int, update_time: int) -> dict[str, Any]:
    """A stored definition's body (task, workflow or schema) as answered: with its create and, once
    changed, update times."""
    out = dict(body)
    out["createTime"] = create_time
    if update_time:
        out["updateTime"] = update_time
    return out


def task_json(task: Task) -> dict[str, Any]:
    queue_wait = task.start_time - task.scheduled_time if task.start_time else 0
    return _compact({
        "taskType": task.task_type,
        "status": task.status.value,
        "inputData": task.input,
        "referenceTaskName": task.ref_name,
        "retryCount": task.retry_count,
        "seq": task.seq,
        "correlationId": task.correlation_id,
        "pollCount": task.poll_count,
        "taskDefName": task.task_def_name,
        "scheduledTime": task.scheduled_time,
        "startTime": task.start_time,
        "endTime": task.end_time,
        "updateTime": task.update_time,
        "startDelayInSeconds": task.start_delay_seconds,
        "retriedTaskId": task.retried_task_id,
        "retried": task.retried,
        "executed": task.executed,
        "callbackFromWorker": True,
        "responseTimeoutSeconds": task.response_timeout_seconds,
        "workflowInstanceId": task.workflow_id,
        "workflowType": task.workflow_type,
        "taskId": task.task_id,
        "reasonForIncompletion": task.reason,
        "callbackAfterSeconds": task.callback_after_seconds,
        "workerId": task.worker_id,
        "outputData": task.output,
        "workflowTask": task.workflow_task,
        "domain": task.domain,
        "rateLimitPerFrequency": 0,
        "rateLimitFrequencyInSeconds": 0,
        "workflowPriority": task.workflow_priority,
        "iteration": task.iteration,
        "subworkflowChanged": False,
        "subWorkflowId": task.sub_workflow_id,
        "parentTaskId": task.parent_task_id,
        "firstStartTime": task.first_scheduled_time,
        "queueWaitTime": queue_wait,
        "loopOverTask": task.iteration > 0,
        "taskDefinition": task.workflow_task.get("taskDefinition"),
    })


def workflow_json(ex: Execution, tasks: list[Task] | None, definition: dict[str, Any]) -> dict[str, Any]:
    body = _compact({
        "createTime": ex.create_time,
        "updateTime": ex.update_time,
        "createdBy": ex.created_by,
        "status": ex.status.value,
        "endTime": ex.end_time,
        "workflowId": ex.workflow_id,
        "parentWorkflowId": ex.parent_workflow_id,
        "parentWorkflowTaskId": ex.parent_task_id,
        "tasks": [task_json(t) for t in sorted(tasks, key=lambda t: t.seq)] if tasks is not None else [],
        "input": ex.input,
        "output": ex.output,
        "correlationId": ex.correlation_id,
        "reRunFromWorkflowId": ex.rerun_from_workflow_id,
        "reasonForIncompletion": ex.reason,
        "event": ex.event,
        "taskToDomain": ex.task_to_domain,
        "failedReferenceTaskNames": list(ex.failed_ref_names),
        "failedTaskNames": list(ex.failed_task_names),
        "workflowDefinition": definition,
        "priority": ex.priority,
        "variables": ex.variables,
        "lastRetriedTime": ex.last_retried_time,
        "history": [],
        "idempotencyKey": ex.idempotency_key,
        "workflowName": ex.workflow_type,
        "workflowVersion": ex.version,
        "startTime": ex.create_time,
    })
    return body


def iso(ms: int) -> str | None:
    if not ms:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _as_text(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


def workflow_summary(ex: Execution) -> dict[str, Any]:
    input_text, output_text = _as_text(ex.input), _as_text(ex.output)
    return _compact({
        "workflowType": ex.workflow_type,
        "version": ex.version,
        "workflowId": ex.workflow_id,
        "correlationId": ex.correlation_id,
        "startTime": iso(ex.create_time),
        "updateTime": iso(ex.update_time),
        "endTime": iso(ex.end_time),
        "status": ex.status.value,
        "input": input_text,
        "output": output_text,
        "reasonForIncompletion": ex.reason,
        "executionTime": (ex.end_time - ex.create_time) if ex.end_time else 0,
        "event": ex.event,
        "failedReferenceTaskNames": ",".join(ex.failed_ref_names),
        "failedTaskNames": list(ex.failed_task_names),
        "priority": ex.priority,
        "createdBy": ex.created_by,
        "taskToDomain": ex.task_to_domain,
        "idempotencyKey": ex.idempotency_key,
        "parentWorkflowId": ex.parent_workflow_id or "",
        "inputSize": len(input_text),
        "outputSize": len(output_text),
    })


def task_summary(task: Task) -> dict[str, Any]:
    return _compact({
        "workflowId": task.workflow_id,
        "workflowType": task.workflow_type,
        "correlationId": task.correlation_id,
        "scheduledTime": iso(task.scheduled_time),
        "startTime": iso(task.start_time),
        "updateTime": iso(task.update_time),
        "endTime": iso(task.end_time),
        "status": task.status.value,
        "reasonForIncompletion": task.reason,
        "executionTime": (task.end_time - task.start_time) if task.end_time and task.start_time else 0,
        "queueWaitTime": (task.start_time - task.scheduled_time) if task.start_time else 0,
        "taskDefName": task.task_def_name,
        "taskType": task.task_type,
        "input": _as_text(task.input),
        "output": _as_text(task.output),
        "taskId": task.task_id,
        "workflowPriority": task.workflow_priority,
        "domain": task.domain,
    })
