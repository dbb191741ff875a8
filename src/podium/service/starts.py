"""Starting executions: by name or with an embedded definition, idempotency keys, input templates."""

from __future__ import annotations

from typing import Any

from podium.engine import attributes, lifecycle, limits
from podium.engine.inputs import evaluate
from podium.engine.state import ExecutionState, StartFailureWorkflow
from podium.errors import BadRequest, Conflict, FieldError, NotFound, PayloadTooLarge, ValidationFailed
from podium.model.definitions import StartWorkflowRequest, WorkflowDef
from podium.model.enums import IdempotencyStrategy, WorkflowStatus
from podium.model.payloads import NO_EXTERNAL_STORAGE
from podium.model.records import Execution
from podium.model.validation import start_request_checked
from podium.model.wire import workflow_json
from podium.service.executions import Executions, Outcome
from podium.store.executions import find_by_idempotency_key
from podium.store.pending import note_targets
from podium.store.search import set_search_attrs
from podium.store.session import Session
from podium.store.tasks import load_tasks
from podium.tracing.ids import parse_traceparent


class DefinitionNotFound(NotFound):
    """The workflow definition to start does not exist (endpoints word it differently)."""


async def start(executions: Executions, req: StartWorkflowRequest, *, traceparent: str | None = None) -> str:
    """Start an execution; a caller's W3C `traceparent` makes its trace a child of the caller's span
    (when tracing is on)."""
    await start_request_checked(req)
    if req.external_input_payload_storage_path:  # never run without the input it names
        raise BadRequest(f"externalInputPayloadStoragePath is not accepted: {NO_EXTERNAL_STORAGE}")
    if req.input is None:
        raise BadRequest("NULL input passed when starting workflow")
    async with executions.store.unit() as s:
        if req.idempotency_key:  # two starts with one key (on two servers) take turns
            await s.lock_name(f"idempotency:{req.idempotency_key}")
        existing = await _idempotent_match(s, req)
        if existing is not None:
            note_targets(existing)
            return existing
        workflow_id, outcome = await start_in_session(
            executions, s, name=req.name, version=req.version, input=req.input or {},
            correlation_id=req.correlation_id, task_to_domain=req.task_to_domain or {},
            priority=req.priority or 0, embedded=req.workflow_def, idempotency_key=req.idempotency_key,
            created_by=req.created_by, enforce_schema=True, trace_parent=traceparent)
        note_targets(workflow_id)  # the audit entry, written as this unit commits, names the new execution
    executions.after_commit(outcome)
    return workflow_id


async def _idempotent_match(s: Session, req: StartWorkflowRequest) -> str | None:
    key = req.idempotency_key
    if not key:
        return None
    found = await find_by_idempotency_key(s, key)
    if found is None:
        return None
    strategy = req.idempotency_strategy or IdempotencyStrategy.FAIL
    if strategy == IdempotencyStrategy.RETURN_EXISTING:
        return found.workflow_id
    running = found.status in (WorkflowStatus.RUNNING, WorkflowStatus.PAUSED)
    if strategy == IdempotencyStrategy.FAIL or running:
        raise Conflict(f"Workflow with idempotencyKey {key} already exists: {found.workflow_id} "
                       f"(status {found.status.value})")
    return None


async def start_in_session(
    executions: Executions, s: Session, *, name: str, version: int | None, input: dict[str, Any],
    correlation_id: str | None = None, task_to_domain: dict[str, str] | None = None, priority: int = 0,
    embedded: WorkflowDef | None = None, idempotency_key: str | None = None, created_by: str | None = None,
    parent_workflow_id: str | None = None, parent_task_id: str | None = None, workflow_id: str | None = None,
    search_attributes: dict[str, str] | None = None, enforce_schema: bool = False, trace_parent: str | None = None,
    observed: bool = False,
) -> tuple[str, Outcome]:
    """Start an execution in the caller's unit of work. `search_attributes` (set by the dialect that
    starts it) come on top of those its definition declares. With `enforce_schema` (a start request),
    an input that breaks the definition's enforced `inputSchema` is refused with every violation.
    `trace_parent` (a W3C traceparent: a caller's span, a sub-workflow's task) is kept only when
    tracing is on, and only if well formed. `observed`: the dialect that starts it keeps its own view
    of the execution in step itself (its observer is not called)."""
    if embedded is not None:
        definition = await executions.metadata.snapshots.snapshot(s, embedded)
    else:
        found = await executions.metadata.registered(s, name, version or None)
        if found is None:
            shown = "null" if version is None else version  # as Java formats a null Integer
            raise DefinitionNotFound(f"No such workflow defined. name={name}, version={shown}")
        definition = found
    wdef = definition.wdef
    now = executions.clock.now()
    merged = dict(wdef.input_template or {}) | dict(input)
    if enforce_schema:
        _check_input_schema(executions, wdef, merged)
    ex = Execution(
        workflow_id=workflow_id or executions.context.new_id(), workflow_type=wdef.name, version=wdef.version,
        status=WorkflowStatus.RUNNING, def_hash=definition.def_hash, create_time=now, update_time=now,
        correlation_id=correlation_id or None, priority=priority, parent_workflow_id=parent_workflow_id,
        parent_task_id=parent_task_id, idempotency_key=idempotency_key or None, input=merged,
        variables=dict(wdef.variables or {}), task_to_domain=dict(task_to_domain or {}), created_by=created_by,
        trace_parent=_kept_trace_parent(executions, trace_parent),
    )
    refused = limits.execution_refusal(ex, executions.context.max_payload_bytes, ("input",))
    if refused is not None:  # before anything runs on it (the unit of work would refuse it anyway)
        raise PayloadTooLarge(refused)
    state = ExecutionState(ex, definition, observed=observed)
    await executions.step(state, lifecycle.start)
    outcome = await executions.persist(s, state, new=True)
    attrs = attributes.declared(state) | (search_attributes or {})
    if attrs:
        await set_search_attrs(s, ex.workflow_id, attrs)
    return ex.workflow_id, outcome


def _kept_trace_parent(executions: Executions, trace_parent: str | None) -> str | None:
    if executions.tracing is None:
        return None
    parent = parse_traceparent(trace_parent)
    return parent.header() if parent is not None else None


def _check_input_schema(executions: Executions, wdef: WorkflowDef, value: dict[str, Any]) -> None:
    ref = wdef.input_schema
    if not wdef.enforce_schema or ref is None:
        return
    found = executions.metadata.schemas.violations(ref, value)
    if found:
        raise ValidationFailed(
            [FieldError(v.path, v.message, v.value) for v in found],
            f"Workflow input does not match schema {ref.name} version {ref.version}: "
            + "; ".join(str(v) for v in found))


async def start_failure_workflow(executions: Executions, s: Session, failed: ExecutionState,
                             effect: StartFailureWorkflow, outcome: Outcome) -> None:
    """Start the failure workflow of an execution that ended unsuccessfully, in the same unit; its
    id (or why it could not start) goes into the failed execution's output."""
    ex = failed.execution
    name = effect.name
    if name.startswith("$"):
        name = str(evaluate(failed, name) or "")
    all_tasks = await load_tasks(s, ex.workflow_id)
    merged = {t.task_id: t for t in all_tasks} | failed.tasks
    failed_json = workflow_json(ex, list(merged.values()), failed.definition.wdef.to_wire())
    payload: dict[str, Any] = dict(ex.input) | {
        "workflowId": ex.workflow_id, "reason": effect.reason, "failureStatus": effect.failure_status,
        "failedWorkflow": failed_json,
    }
    if effect.failed_task_id:
        payload["failureTaskId"] = effect.failed_task_id
    try:
        try:
            child_id, child_outcome = await start_in_session(
                executions, s, name=name, version=effect.version, input=payload,
                correlation_id=ex.correlation_id, task_to_domain=ex.task_to_domain)
        except PayloadTooLarge:  # the failed workflow as a whole is too much: its summary goes
            payload["failedWorkflow"] = _without_payloads(failed_json)
            child_id, child_outcome = await start_in_session(
                executions, s, name=name, version=effect.version, input=payload,
                correlation_id=ex.correlation_id, task_to_domain=ex.task_to_domain)
        ex.output = ex.output | {"conductor.failure_workflow": child_id}
        outcome.absorb(child_outcome)
    except (NotFound, PayloadTooLarge) as exc:
        ex.output = ex.output | {"conductor.failure_workflow": exc.message}
    failed.touch_execution()


def _without_payloads(workflow: dict[str, Any]) -> dict[str, Any]:
    """A workflow's JSON without its input, output and its tasks' data."""
    tasks = [{k: v for k, v in t.items() if k not in ("inputData", "outputData")} for t in workflow.get("tasks", [])]
    return {k: v for k, v in workflow.items() if k not in ("input", "output", "variables")} | {"tasks": tasks}
