"""`/api/event`: event handlers (spec 1.6), plus what they did (event executions)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from starlette.responses import Response

from podium.api.conductor.docs import EMPTY, ERRORS
from podium.api.conductor.params import flag, opt_str, req_int
from podium.api.conductor.routing import ConductorRoute
from podium.api.conductor.services import Services, services
from podium.api.responses import Json, empty
from podium.model.events import EventHandler

router = APIRouter(prefix="/api/event", tags=["events"], route_class=ConductorRoute, responses=ERRORS)
Svc = Annotated[Services, Depends(services)]
MAX_EXECUTIONS = 1000


@router.post("", **EMPTY)
async def add(svc: Svc, body: Annotated[EventHandler, Body()]) -> Response:
    await svc.events.add(body)
    return empty()


@router.put("", **EMPTY)
async def update(svc: Svc, body: Annotated[EventHandler, Body()]) -> Response:
    await svc.events.update(body)
    return empty()


@router.get("")
async def all_handlers(svc: Svc) -> Response:
    return Json(await svc.events.find())


@router.get("/executions")
async def executions(svc: Svc, name: str | None = None, event: str | None = None, status: str | None = None,
                     count: str | None = None) -> Response:
    """Podium's addition: the newest event executions, by handler name, event and status."""
    limit = min(max(req_int(count, 100, "count"), 1), MAX_EXECUTIONS)
    return Json(await svc.events.executions(handler=opt_str(name), event=opt_str(event), status=opt_str(status),
                                            limit=limit))


@router.get("/{event}")
async def by_event(svc: Svc, event: str, activeOnly: str | None = None) -> Response:
    return Json(await svc.events.find(event, flag(activeOnly, True, "activeOnly")))


@router.delete("/{name}", **EMPTY)
async def remove(svc: Svc, name: str) -> Response:
    await svc.events.remove(name)
    return empty()
