"""`/api/schema`: input and output schemas (an Orkes extension the SDKs call: conductor-python's
`SchemaClient`, the JavaScript SDK's `SchemaClient`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from starlette.responses import Response

from podium.api.conductor.docs import EMPTY, ERRORS
from podium.api.conductor.params import flag
from podium.api.conductor.routing import ConductorRoute
from podium.api.conductor.services import Services, services
from podium.api.responses import Json, empty
from podium.model.definitions import SchemaDef

router = APIRouter(prefix="/api/schema", tags=["schema"], route_class=ConductorRoute, responses=ERRORS)
Svc = Annotated[Services, Depends(services)]


@router.post("", **EMPTY)
async def save(svc: Svc, body: Annotated[SchemaDef | list[SchemaDef], Body()],
               newVersion: str | None = None) -> Response:
    defs = body if isinstance(body, list) else [body]
    await svc.metadata.schemas.save(defs, new_version=flag(newVersion, False, "newVersion"))
    return empty()


@router.get("")
async def all_schemas(svc: Svc) -> Response:
    return Json(await svc.metadata.schemas.all())


@router.get("/{name}")
async def latest(svc: Svc, name: str) -> Response:
    return Json(await svc.metadata.schemas.get(name))


@router.get("/{name}/{version}")
async def by_version(svc: Svc, name: str, version: int) -> Response:
    return Json(await svc.metadata.schemas.get(name, version))


@router.delete("/{name}", **EMPTY)
async def delete_all_versions(svc: Svc, name: str) -> Response:
    await svc.metadata.schemas.delete(name)
    return empty()


@router.delete("/{name}/{version}", **EMPTY)
async def delete_version(svc: Svc, name: str, version: int) -> Response:
    await svc.metadata.schemas.delete(name, version)
    return empty()
