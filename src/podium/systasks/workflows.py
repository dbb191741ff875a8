"""SUB_WORKFLOW and START_WORKFLOW: starting another workflow for a task.

A child's id is derived from its task (`subworkflow:<parentWorkflowId>:<taskId>:<retryCount>`,
hashed as Java's `UUID.nameUUIDFromBytes`), so when a claim is handed out again after a crash the
second start finds the first child and adopts it. A child with that id that already ended without
success (a rerun) is not adopted: a fresh id is used.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from pydantic import ValidationError

from podium.errors import FieldError, PodiumError
from podium.model.definitions import StartWorkflowRequest, WorkflowDef
from podium.model.enums import IdempotencyStrategy, TaskStatus, WorkflowStatus
from podium.model.records import Task
from podium.model.validation import start_request_checked, workflow_def_checked
from podium.service import starts
from podium.service.executions import Executions
from podium.store.executions import find_by_idempotency_key, get_execution
from podium.systasks.runner import Report
from podium.tracing.ids import child_traceparent

_UNSUCCESSFUL = (WorkflowStatus.FAILED, WorkflowStatus.TERMINATED, WorkflowStatus.TIMED_OUT)


def child_id(task: Task) -> str:
    name = f"subworkflow:{task.workflow_id}:{task.task_id}:{task.retry_count}".encode()
    return str(uuid.UUID(bytes=hashlib.md5(name).digest(), version=3))


class WorkflowStarter:
    def __init__(self, executions: Executions) -> None:
        self.x = executions

    async def sub_workflow(self, task: Task) -> Report:
        data = task.input
        try:
            embedded = _definition(data.get("subWorkflowDefinition"))
            if embedded is not None:
                await workflow_def_checked(embedded)
        except (ValidationError, ValueError, PodiumError) as exc:
            return Report(TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason=f"Invalid subWorkflowDefinition: {_why(exc)}")
        name = str(data.get("subWorkflowName") or (embedded.name if embedded else ""))
        async with self.x.store.unit() as s:
            parent = await get_execution(s, task.workflow_id)
            if parent is None or parent.status.terminal:
                return Report(TaskStatus.CANCELED, reason="The parent workflow is no longer running")
            wanted = child_id(task)
            existing = await get_execution(s, wanted)
            if existing is not None and existing.status not in _UNSUCCESSFUL:
                return _running(wanted)
            key = data.get("subWorkflowIdempotencyKey")
            if key:
                await s.lock_name(f"idempotency:{key}")
                found = await find_by_idempotency_key(s, str(key))
                if found is not None:
                    strategy = data.get("subWorkflowIdempotencyStrategy") or IdempotencyStrategy.FAIL
                    if strategy == IdempotencyStrategy.RETURN_EXISTING:
                        return _running(found.workflow_id)
                    if strategy == IdempotencyStrategy.FAIL or not found.status.terminal:
                        return Report(TaskStatus.FAILED, reason=f"Workflow with idempotencyKey {key} already "
                                                                 f"exists: {found.workflow_id}")
            domains = data.get("subWorkflowTaskToDomain") or parent.task_to_domain
            try:
                started, outcome = await starts.start_in_session(
                    self.x, s, name=name, version=_int(data.get("subWorkflowVersion")),
                    input=dict(data.get("workflowInput") or {}), correlation_id=parent.correlation_id,
                    task_to_domain=dict(domains), priority=_int(data.get("subWorkflowPriority")) or parent.priority,
                    embedded=embedded, idempotency_key=str(key) if key else None,
                    parent_workflow_id=parent.workflow_id, parent_task_id=task.task_id,
                    workflow_id=wanted if existing is None else None,
                    trace_parent=child_traceparent(parent.workflow_id, parent.trace_parent, task.task_id))
            except PodiumError as exc:
                return Report(TaskStatus.FAILED, reason=exc.message)
        self.x.after_commit(outcome)
        return _running(started)

    async def start_workflow(self, task: Task) -> Report:
        """START_WORKFLOW: fire and forget; `correlationId` and `taskToDomain` default to the parent's."""
        spec = task.input.get("startWorkflow")
        if not isinstance(spec, dict):
            return Report(TaskStatus.FAILED_WITH_TERMINAL_ERROR,
                          reason="START_WORKFLOW needs an input 'startWorkflow' with at least a 'name'")
        try:
            req = StartWorkflowRequest.model_validate({"input": {}, **spec})
            await start_request_checked(req)
        except (ValidationError, PodiumError) as exc:
            return Report(TaskStatus.FAILED_WITH_TERMINAL_ERROR, reason=f"Invalid startWorkflow: {exc}")
        async with self.x.store.reader() as s:
            parent = await get_execution(s, task.workflow_id)
        if parent is not None:
            req.correlation_id = req.correlation_id or parent.correlation_id
            req.task_to_domain = req.task_to_domain or parent.task_to_domain
        try:
            started = await starts.start(self.x, req)
        except PodiumError as exc:
            return Report(TaskStatus.FAILED, reason=exc.message)
        return Report(TaskStatus.COMPLETED, output={"workflowId": started})


def _why(exc: Exception) -> str:
    """An error with its field errors spelled out (a ValidationFailed's message alone says 'see below')."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list) and errors and isinstance(errors[0], FieldError):
        return "; ".join(f"{e.path}: {e.message}" for e in errors)
    return str(exc)


def _running(workflow_id: str) -> Report:
    return Report(TaskStatus.IN_PROGRESS, output={"subWorkflowId": workflow_id}, hold=True,
                  sub_workflow_id=workflow_id)


def _definition(value: Any) -> WorkflowDef | None:
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise ValueError(f"expected a workflow definition object, got {type(value).__name__}")
    return WorkflowDef.model_validate(value)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None
