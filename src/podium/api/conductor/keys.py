"""`/api/token` (Orkes': an API key's id and secret for a token) and `/api/keys` (the admin API that
makes, lists and revokes keys, as `podium keys` does from the command line)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from podium.api.conductor.docs import ERRORS
from podium.api.conductor.errors import error_response
from podium.api.conductor.routing import ConductorRoute
from podium.api.responses import Json
from podium.auth.keys import Keys, key_to_wire
from podium.auth.throttle import Throttle
from podium.errors import NotFound

router = APIRouter(prefix="/api", tags=["auth"], route_class=ConductorRoute, responses=ERRORS)


class TokenRequest(BaseModel):
    keyId: str = Field(max_length=200)
    keySecret: str = Field(max_length=1000)


class KeyRequest(BaseModel):
    role: str
    name: str | None = Field(None, max_length=200)


def _keys(request: Request) -> Keys:
    keys: Keys | None = getattr(request.app.state, "keys", None)
    if keys is None or not request.app.state.settings.auth == "keys":  # as Conductor OSS: no such route
        raise NotFound(f"No static resource {request.url.path.lstrip('/')}.")
    return keys


@router.post("/token")
async def token(request: Request, body: Annotated[TokenRequest, Body()]) -> Response:
    keys = _keys(request)
    throttle: Throttle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    wait = throttle.retry_after(address)
    if wait > 0:
        response = error_response(429, "Too many failed attempts from this address; try again later",
                                  error="TOO_MANY_REQUESTS")
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    principal = await keys.login(body.keyId, body.keySecret)
    if principal is None:
        throttle.failed(address)
        return error_response(401, "The key id or secret is not right, or the key is revoked",
                              error="INVALID_CREDENTIALS")
    return Json({"token": await keys.token(principal)})


@router.get("/keys")
async def list_keys(request: Request) -> Response:
    return Json([key_to_wire(row) for row in await _keys(request).list()])


@router.post("/keys")
async def create_key(request: Request, body: Annotated[KeyRequest, Body()]) -> Response:
    made = await _keys(request).create(body.role, body.name)
    return Json(made.to_wire())


@router.delete("/keys/{key_id}")
async def revoke_key(request: Request, key_id: str) -> Response:
    await _keys(request).revoke(key_id)
    return Json({"keyId": key_id, "revoked": True})
