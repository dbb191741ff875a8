"""`/api/secrets`: Orkes' secret API, as conductor-python's `OrkesSecretClient` (SecretResourceApi)
calls it. Values are referenced in task input as `${workflow.secrets.NAME}` and put in only when a
task is handed to whoever runs it (see `podium.service.secrets`).

`PUT /secrets/{key}` takes the value as Orkes documents it, a JSON string (`"value"`). The SDK sends
`json.dumps(value)` with its outer quotes stripped (its REST client does that to every string body),
so a body that is not a JSON string is read that way: JSON string escapes undone where the text
has them (`a\\"b` is `a"b`), else the text as it is. `GET /secrets/{key}` answers the value as a JSON
string. Every route is an admin's (the role map is in docs/security.md).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from podium.api import jsonbody
from podium.api.conductor.docs import EMPTY, ERRORS
from podium.api.conductor.routing import ConductorRoute
from podium.api.responses import Json, empty
from podium.errors import BadRequest
from podium.service.secrets import Secrets

router = APIRouter(tags=["secrets"], route_class=ConductorRoute, responses=ERRORS)
VALUE_BODY: dict[str, Any] = {"openapi_extra": {"requestBody": {
    "required": True, "description": "The secret's value, as a JSON string",
    "content": {"application/json": {"schema": {"type": "string"}}}}}}
KEYLESS: dict[int | str, dict[str, Any]] = {503: {
    "description": "The server has no PODIUM_SECRET_KEY, or not the one the value was stored with; or the "
                   "database is unavailable",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}}
STRING: dict[int | str, dict[str, Any]] = {200: {"description": "The secret's value",
                                                 "content": {"application/json": {"schema": {"type": "string"}}}}}


def _secrets(request: Request) -> Secrets:
    found: Secrets = request.app.state.secrets
    return found


def secret_value(raw: bytes) -> str:
    """The value of a PUT body: a JSON string, or the SDK's quote-stripped JSON string, or text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("A secret's value must be UTF-8 text") from None
    for candidate in (text, f'"{text}"'):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, str):
            break
    else:
        value = text
    jsonbody.check_text(value)
    return value


@router.put("/api/secrets/{key}", response_class=Response, responses={**EMPTY["responses"], **KEYLESS}, **VALUE_BODY)
async def put_secret(request: Request, key: str) -> Response:
    await _secrets(request).put(key, secret_value(await request.body()))
    return empty()


@router.get("/api/secrets/{key}", responses={**STRING, **KEYLESS})
async def get_secret(request: Request, key: str) -> Response:
    return Json(await _secrets(request).get(key))


@router.delete("/api/secrets/{key}", **EMPTY)
async def delete_secret(request: Request, key: str) -> Response:
    await _secrets(request).delete(key)
    return empty()


@router.get("/api/secrets/{key}/exists")
async def secret_exists(request: Request, key: str) -> Response:
    return Json(await _secrets(request).exists(key))


@router.post("/api/secrets")
async def list_all_secret_names(request: Request) -> Response:
    """Every secret's name (the SDK's `list_all_secret_names`)."""
    return Json(await _secrets(request).names())


@router.get("/api/secrets")
async def list_secrets_that_user_can_grant_access_to(request: Request) -> Response:
    """Every secret's name: with no per-secret grants in Podium, an admin may grant every one."""
    return Json(await _secrets(request).names())


@router.get("/api/secrets-v2")
async def list_secrets_with_tags(request: Request) -> Response:
    return Json(await _secrets(request).listing())


@router.get("/api/secrets/{key}/tags")
async def get_tags(request: Request, key: str) -> Response:
    return Json(await _secrets(request).tags(key))


@router.put("/api/secrets/{key}/tags", **EMPTY)
async def put_tags(request: Request, key: str, body: Annotated[list[dict[str, Any]], Body()]) -> Response:
    await _secrets(request).change_tags(key, add=_tags(body))
    return empty()


@router.delete("/api/secrets/{key}/tags", **EMPTY)
async def delete_tags(request: Request, key: str, body: Annotated[list[dict[str, Any]], Body()]) -> Response:
    await _secrets(request).change_tags(key, remove=_tags(body))
    return empty()


def _tags(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for tag in body:
        if not isinstance(tag.get("key"), str) or not tag["key"]:
            raise BadRequest("A tag needs a key (a non-empty string)")
    return body
