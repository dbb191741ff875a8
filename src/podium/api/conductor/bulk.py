"""`/api/workflow/bulk`: the same operations over up to 1000 ids; per-id failures are collected."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import ValidationError
from starlette.responses import Response

from podium.api.conductor.docs import ERRORS
from podium.api.conductor.params import flag, opt_str
from podium.api.conductor.routing import ConductorRoute
from podium.api.conductor.services import Services, services
from podium.api.responses import Json
from podium.errors import BadRequest, PodiumError
from podium.model.definitions import UpgradeWorkflowRequest
from podium.service import upgrades
from podium.store.pending import note_refused, note_targets

router = APIRouter(prefix="/api/workflow/bulk", tags=["workflow-bulk"], route_class=ConductorRoute, responses=ERRORS)
Svc = Annotated[Services, Depends(services)]
Ids = Annotated[list[str], Body()]
MAX_IDS = 1000


async def _each(ids: list[str], action: Callable[[str], Awaitable[Any]]) -> Response:
    if not ids:
        raise BadRequest("WorkflowIds list cannot be null.")
    if len(ids) > MAX_IDS:
        raise BadRequest("Cannot process more than 1000 workflows. Please use multiple requests.")
    note_targets(*ids)
    errors: dict[str, str] = {}
    done: list[Any] = []
    refused = 0
    for workflow_id in ids:
        try:
            result = await action(workflow_id)
            done.append(result if result is not None else workflow_id)
        except PodiumError as exc:
            errors[workflow_id] = exc.public_message
            refused = refused or exc.status
    if not done:
        note_refused(refused)  # answered 200, but every id was refused: so says the audit trail
    return Json({"bulkErrorResults": errors, "bulkSuccessfulResults": done})


@router.put("/pause")
async def pause(svc: Svc, body: Ids) -> Response:
    return await _each(body, svc.workflows.pause)


@router.put("/resume")
async def resume(svc: Svc, body: Ids) -> Response:
    return await _each(body, svc.workflows.resume)


@router.post("/restart")
async def restart(svc: Svc, body: Ids, useLatestDefinitions: str | None = None) -> Response:
    latest = flag(useLatestDefinitions, False, "useLatestDefinitions")
    return await _each(body, lambda i: svc.workflows.restart(i, latest))


@router.post("/retry")
async def retry(svc: Svc, body: Ids) -> Response:
    return await _each(body, svc.workflows.retry)


@router.post("/terminate")
async def terminate(svc: Svc, body: Ids, reason: str | None = None) -> Response:
    return await _each(body, lambda i: svc.workflows.terminate(i, opt_str(reason)))


@router.delete("/remove")
async def remove(svc: Svc, body: Ids, archiveWorkflow: str | None = None) -> Response:
    archive = flag(archiveWorkflow, True, "archiveWorkflow")
    return await _each(body, lambda i: svc.workflows.remove(i, archive))


@router.delete("/terminate-remove")
async def terminate_remove(svc: Svc, body: Ids, reason: str | None = None,
                           archiveWorkflow: str | None = None) -> Response:
    archive = flag(archiveWorkflow, True, "archiveWorkflow")
    return await _each(body, lambda i: svc.workflows.terminate_remove(i, opt_str(reason), archive))


@router.post("/search")
async def search(svc: Svc, body: Ids, includeTasks: str | None = None) -> Response:
    with_tasks = flag(includeTasks, True, "includeTasks")
    return await _each(body, lambda i: svc.workflows.get(i, with_tasks))


@router.post("/upgrade")
async def upgrade(svc: Svc, body: Annotated[dict[str, Any], Body()], dryRun: str | None = None) -> Response:
    """Podium's own: `{"workflowIds": [...], "name", "version", "workflowInput", "taskOutput"}`;
    each id's result is its upgrade plan."""
    ids = body.get("workflowIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRequest("workflowIds must be a list of workflow ids")
    try:
        req = UpgradeWorkflowRequest.model_validate({k: v for k, v in body.items() if k != "workflowIds"})
    except ValidationError as exc:
        raise BadRequest(f"Invalid upgrade request: {exc.errors()[0]['msg']}") from None
    dry_run = flag(dryRun, False, "dryRun")
    return await _each(ids, lambda i: upgrades.upgrade_workflow(svc.executions, i, req, dry_run=dry_run))
