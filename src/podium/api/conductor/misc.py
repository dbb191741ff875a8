"""Health, version, admin and OpenAPI aliases (spec 1.7, 1.8)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from podium.__about__ import __version__
from podium.api.conductor.docs import ERRORS, TEXT
from podium.api.conductor.params import req_int
from podium.api.conductor.routing import ConductorRoute
from podium.api.conductor.services import Services, services
from podium.api.responses import Json, text

router = APIRouter(tags=["health"], route_class=ConductorRoute, responses=ERRORS)
Svc = Annotated[Services, Depends(services)]
HEALTHY = {"healthResults": [], "suppressedHealthResults": [], "healthy": True}


@router.get("/health")
async def health() -> Response:
    return Json(HEALTHY)


@router.get("/api/health")
async def api_health() -> Response:
    return Json(HEALTHY)


@router.get("/api/version", **TEXT)
async def version() -> Response:
    return text(__version__)


@router.get("/api/admin/config")
async def config(request: Request) -> Response:
    settings = request.app.state.settings
    return Json({"version": __version__, "database": settings.database_url.split("://")[0],
                 "maxPayloadBytes": settings.max_payload_bytes})


@router.get("/api/admin/task/{task_type}")
async def pending(svc: Svc, task_type: str, start: str | None = None, count: str | None = None) -> Response:
    return Json(await svc.queues.pending(task_type, req_int(start, 0, "start"), req_int(count, 100, "count")))


@router.get("/api-docs", include_in_schema=False)
async def api_docs(request: Request) -> Response:
    return Json(request.app.openapi())
