"""Queue admin (`/api/queue`, spec 1.5), admin repairs (`/api/admin`, 1.7), environment (1.8) and
external-storage locations, which Podium answers without an external payload store."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from starlette.responses import Response

from podium.api.conductor.docs import EMPTY, ERRORS, TEXT
from podium.api.conductor.params import task_status
from podium.api.conductor.routing import ConductorRoute
from podium.api.conductor.services import Services, services
from podium.api.responses import Json, empty, text
from podium.errors import BadRequest, NotFound
from podium.model.payloads import NO_EXTERNAL_STORAGE
from podium.service.repair import repair_workflow

router = APIRouter(tags=["admin"], route_class=ConductorRoute, responses=ERRORS)
Svc = Annotated[Services, Depends(services)]
Payload = Annotated[dict[str, Any], Body()]
STATUS_QUEUES = {status: f"conductor_{status}" for status in ("COMPLETED", "FAILED")}



@router.get("/api/queue/size")
async def status_queue_sizes() -> Response:
    return Json(dict.fromkeys(STATUS_QUEUES.values(), 0))  # updates are applied at once, never queued


@router.get("/api/queue/")
async def status_queue_names() -> Response:
    return Json(STATUS_QUEUES)


@router.post("/api/queue/update/{workflow_id}/task/{task_id}/{status}", **EMPTY)
async def update_by_task_id(svc: Svc, workflow_id: str, task_id: str, status: str, body: Payload) -> Response:
    await svc.tasks.update_by_id(workflow_id, task_id, task_status(status), body, merge=True)
    return empty()


@router.post("/api/queue/update/{workflow_id}/{ref_name}/{status}", **EMPTY)
async def update_by_ref(svc: Svc, workflow_id: str, ref_name: str, status: str, body: Payload) -> Response:
    await svc.tasks.update_by_ref(workflow_id, ref_name, task_status(status), body, None, merge=True)
    return empty()


@router.post("/api/admin/sweep/requeue/{workflow_id}", **TEXT)
async def sweep(svc: Svc, workflow_id: str) -> Response:
    await svc.workflows.execution(workflow_id)
    await svc.workflows.decide(workflow_id)
    return text(f"true.{workflow_id}")


@router.post("/api/admin/consistency/verifyAndRepair/{workflow_id}", **TEXT)
async def verify_and_repair(svc: Svc, workflow_id: str) -> Response:
    await svc.workflows.execution(workflow_id)
    found = await repair_workflow(svc.executions, workflow_id)
    return text("true" if found else "false")


@router.get("/api/environment")
async def environment(request: Request) -> Response:
    values = request.app.state.settings.workflow_env
    return Json([{"name": k, "value": v} for k, v in sorted(values.items())])


@router.get("/api/environment/{key}", **TEXT)
async def environment_value(request: Request, key: str) -> Response:
    values = request.app.state.settings.workflow_env
    if key not in values:
        raise NotFound(f"Environment variable {key} not found")
    return text(values[key])


@router.get("/api/workflow/externalstoragelocation")
@router.get("/api/workflow/external-storage-location")
@router.get("/api/tasks/externalstoragelocation")
@router.get("/api/tasks/external-storage-location")
async def external_storage() -> Response:
    raise BadRequest(f"No external storage location: {NO_EXTERNAL_STORAGE}; a payload over the limit is "
                     "refused with 413")
