"""The document `${...}` expressions read, and task inputs built from it."""

from __future__ import annotations

from typing import Any

from podium.engine.expressions import referenced_roots, resolve
from podium.engine.state import ExecutionState
from podium.model.definitions import TaskDef
from podium.model.records import Execution, Task


def workflow_view(ex: Execution, schema_version: int = 2) -> dict[str, Any]:
    return {
        "input": ex.input,
        "output": ex.output,
        "status": ex.status.value,
        "workflowId": ex.workflow_id,
        "parentWorkflowId": ex.parent_workflow_id,
        "parentWorkflowTaskId": ex.parent_task_id,
        "workflowType": ex.workflow_type,
        "version": ex.version,
        "correlationId": ex.correlation_id,
        "reasonForIncompletion": ex.reason,
        "schemaVersion": schema_version,
        "variables": ex.variables,
        "createTime": ex.create_time,
        "taskToDomain": ex.task_to_domain,
    }


def task_view(task: Task) -> dict[str, Any]:
    return {
        "input": task.input,
        "output": task.output,
        "taskType": task.task_type,
        "status": task.status.value,
        "referenceTaskName": task.ref_name,
        "retryCount": task.retry_count,
        "correlationId": task.correlation_id,
        "pollCount": task.poll_count,
        "taskDefName": task.task_def_name,
        "scheduledTime": task.scheduled_time,
        "startTime": task.start_time,
        "endTime": task.end_time,
        "workflowInstanceId": task.workflow_id,
        "taskId": task.task_id,
        "reasonForIncompletion": task.reason,
        "callbackAfterSeconds": task.callback_after_seconds,
        "workerId": task.worker_id,
        "iteration": task.iteration,
    }


def document(state: ExecutionState, roots: frozenset[str]) -> dict[str, Any]:
    """Only the parts the expressions read: the workflow and the latest attempt of each ref."""
    doc: dict[str, Any] = {}
    if "workflow" in roots:
        doc["workflow"] = workflow_view(state.execution)
    for name in roots - {"workflow"}:
        task = state.newest(name)
        if task is not None:
            doc[name] = task_view(task)
    return doc


def evaluate(state: ExecutionState, template: Any, *, task_id: str | None = None,
             env: Any = None) -> Any:
    roots = referenced_roots(template)
    if not roots and task_id is None:
        return resolve(template, {}, env=env) if template else template
    return resolve(template, document(state, roots), task_id=task_id, env=env)


def task_input(state: ExecutionState, params: dict[str, Any], tdef: TaskDef | None, *,
               task_id: str, env: Any) -> dict[str, Any]:
    """inputParameters resolved, then the TaskDef inputTemplate filling absent or null keys."""
    resolved = evaluate(state, params, task_id=task_id, env=env) if params else {}
    data = dict(resolved) if isinstance(resolved, dict) else {}
    if tdef is not None and tdef.input_template:
        for key, value in tdef.input_template.items():
            if data.get(key) is None:
                data[key] = value
    return data
