"""`/api/metadata`: task and workflow definitions (spec 1.1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from starlette.responses import Response

from podium.api.conductor.docs import EMPTY, ERRORS
from podium.api.conductor.params import flag, opt_int
from podium.api.conductor.routing import ConductorRoute
from podium.api.conductor.services import Services, services
from podium.api.responses import Json, empty
from podium.model.definitions import TaskDef, WorkflowDef

router = APIRouter(prefix="/api/metadata", tags=["metadata"], route_class=ConductorRoute, responses=ERRORS)
Svc = Annotated[Services, Depends(services)]


@router.post("/workflow", **EMPTY)
async def register_workflow(svc: Svc, body: Annotated[WorkflowDef, Body()], overwrite: str | None = None
                            ) -> Response:
    await svc.metadata.register_workflow_def(body, flag(overwrite, False, "overwrite"))
    return empty()


@router.post("/workflow/validate", **EMPTY)
async def validate_workflow(svc: Svc, body: Annotated[WorkflowDef, Body()]) -> Response:
    await svc.metadata.check_workflow_def(body)
    return empty()


@router.put("/workflow")
async def upsert_workflows(svc: Svc, body: Annotated[list[WorkflowDef], Body()]) -> Response:
    return Json(await svc.metadata.upsert_workflow_defs(body))


@router.get("/workflow/names-and-versions")
async def names_and_versions(svc: Svc) -> Response:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for wd in await svc.metadata.list_workflow_defs():
        grouped.setdefault(wd["name"], []).append(_summary(wd))
    return Json(grouped)


@router.get("/workflow/names")
async def names(svc: Svc) -> Response:
    return Json(sorted({wd["name"] for wd in await svc.metadata.list_workflow_defs()}))


@router.get("/workflow/latest-versions")
async def latest_versions(svc: Svc) -> Response:
    latest: dict[str, dict[str, Any]] = {}
    for wd in await svc.metadata.list_workflow_defs():
        latest[wd["name"]] = wd  # listed in version order
    return Json(list(latest.values()))


@router.get("/workflow/{name}/versions")
async def versions(svc: Svc, name: str) -> Response:
    return Json([_summary(wd) for wd in await svc.metadata.list_workflow_defs(name)])


@router.get("/workflow/{name}/lint")
async def lint_workflow(svc: Svc, name: str, version: str | None = None) -> Response:
    """Podium's own: what would fail or surprise at run time, as warnings (registration accepts it)."""
    return Json(await svc.metadata.lint_workflow_def(name, opt_int(version, None, "version")))


@router.get("/workflow/{name}")
async def get_workflow(svc: Svc, name: str, version: str | None = None) -> Response:
    return Json(await svc.metadata.get_workflow_def(name, opt_int(version, None, "version")))


@router.get("/workflow")
async def all_workflows(svc: Svc) -> Response:
    return Json(await svc.metadata.list_workflow_defs())


@router.delete("/workflow/{name}/{version}", **EMPTY)
async def delete_workflow(svc: Svc, name: str, version: int) -> Response:
    await svc.metadata.delete_workflow_def(name, version)
    return empty()


@router.post("/taskdefs", **EMPTY)
async def register_task_defs(svc: Svc, body: Annotated[list[TaskDef], Body()]) -> Response:
    await svc.metadata.register_task_defs(body)
    return empty()


@router.put("/taskdefs", **EMPTY)
async def update_task_def(svc: Svc, body: Annotated[TaskDef, Body()]) -> Response:
    await svc.metadata.update_task_def(body)
    return empty()


@router.get("/taskdefs")
async def all_task_defs(svc: Svc) -> Response:
    return Json(await svc.metadata.list_task_defs())


@router.get("/taskdefs/{task_type}")
async def get_task_def(svc: Svc, task_type: str) -> Response:
    return Json(await svc.metadata.get_task_def(task_type))


@router.delete("/taskdefs/{task_type}", **EMPTY)
async def delete_task_def(svc: Svc, task_type: str) -> Response:
    await svc.metadata.delete_task_def(task_type)
    return empty()


def _summary(wd: dict[str, Any]) -> dict[str, Any]:
    return {k: wd[k] for k in ("name", "version", "createTime", "updateTime") if k in wd}
