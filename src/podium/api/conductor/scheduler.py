"""`/api/scheduler`: schedules in the words of Conductor's scheduler module (SchedulerResource):
save, read, list, delete, pause and resume a schedule, preview a cron expression's next fires, and
search the schedules' runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from podium.api.conductor.docs import EMPTY, ERRORS
from podium.api.conductor.params import opt_int, opt_str, req_int
from podium.api.conductor.routing import ConductorRoute
from podium.api.responses import Json, empty
from podium.errors import BadRequest
from podium.service.schedules import Schedules

DONE = {"status": "done"}
router = APIRouter(prefix="/api/scheduler", tags=["scheduler"], route_class=ConductorRoute, responses=ERRORS)


def _schedules(request: Request) -> Schedules:
    found: Schedules = request.app.state.schedules
    return found


@router.post("/schedules", **EMPTY)
async def save(request: Request, body: Annotated[Any, Body()]) -> Response:
    if not isinstance(body, dict):
        raise BadRequest("The body must be a schedule (a JSON object)")
    await _schedules(request).save(body)
    return empty()


@router.get("/schedules")
async def listing(request: Request, workflowName: str | None = None) -> Response:
    return Json(await _schedules(request).listing(opt_str(workflowName)))


@router.get("/schedules/{name}")
async def get(request: Request, name: str) -> Response:
    return Json(await _schedules(request).get(name))


@router.delete("/schedules/{name}", **EMPTY)
async def delete(request: Request, name: str) -> Response:
    await _schedules(request).delete(name)
    return empty()


@router.get("/schedules/{name}/pause", **EMPTY)
@router.put("/schedules/{name}/pause", **EMPTY)
async def pause(request: Request, name: str) -> Response:
    await _schedules(request).pause(name)
    return empty()


@router.get("/schedules/{name}/resume", **EMPTY)
@router.put("/schedules/{name}/resume", **EMPTY)
async def resume(request: Request, name: str) -> Response:
    await _schedules(request).resume(name)
    return empty()


@router.get("/admin/pause")
async def pause_all(request: Request) -> Response:
    """Orkes' "pause all scheduling": here every schedule is paused, durably (see Schedules.pause_all)."""
    await _schedules(request).pause_all()
    return Json(DONE)


@router.get("/admin/resume")
async def resume_all(request: Request) -> Response:
    await _schedules(request).resume_all()
    return Json(DONE)


@router.get("/admin/requeue")
async def requeue(request: Request) -> Response:
    """Orkes' answer: how many run records were sent to be archived again, and a sample of their ids."""
    pending = await _schedules(request).pending_run_records()
    return Json({"recordIds.size": len(pending), "sampleIds": pending[:10]})


@router.get("/nextFewSchedules")
async def next_few(request: Request, cronExpression: str | None = None, scheduleStartTime: str | None = None,
                   scheduleEndTime: str | None = None, limit: str | None = None, zoneId: str | None = None) -> Response:
    cron = opt_str(cronExpression)
    if cron is None:
        raise BadRequest("cronExpression is required")
    fires = _schedules(request).next_few(cron, opt_int(scheduleStartTime, None, "scheduleStartTime"),
                                         opt_int(scheduleEndTime, None, "scheduleEndTime"),
                                         req_int(limit, 3, "limit"), opt_str(zoneId) or "UTC")
    return Json(fires)


@router.get("/search/executions")
async def search_executions(request: Request, start: str | None = None, size: str | None = None,
                            sort: str | None = None, freeText: str | None = None,
                            query: str | None = None) -> Response:
    return Json(await _schedules(request).search_runs(
        start=req_int(start, 0, "start"), size=req_int(size, 100, "size"), sort=opt_str(sort),
        free_text=opt_str(freeText), query_text=opt_str(query)))
