"""SIGMA routes (`/processes`): parse, call the service, answer in SIGMA's envelope (the root key
is always `processes`, a list); errors as `{"id": "bad_request"|"not_found", "message": ...}` with
400/404. An operation the process's state does not allow is not an error: 200, result FAILED."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from podium.api.docs import INTEGER, OBJECT, STRING, answers, body_schema, query
from podium.api.responses import Json, empty, guarded, json_body
from podium.errors import BadRequest
from podium.service.sigma import Processes

router = APIRouter(tags=["sigma"])
_IDS = {400: "bad_request", 403: "forbidden", 404: "not_found", 409: "conflict", 415: "unsupported_media_type"}


class SigmaError(BaseModel):
    id: str
    message: str


ERRORS = {400: "Bad input", 404: "No such process", 409: "A conflict", 413: "The body is over the configured limit",
          500: "An unexpected failure"}
PROCESS = {"process_name": STRING, "type": STRING, "period": INTEGER, "partition": STRING, "workflow": OBJECT}


def _processes(request: Request) -> Processes:
    found: Processes = request.app.state.processes
    return found


async def _handle(request: Request, run: Callable[[], Awaitable[Response]]) -> Response:
    def error(status: int, message: str | None) -> Response:
        return Json({"id": _IDS.get(status, "server_error"), "message": message or "The request could not be handled"},
                    status_code=status)

    return await guarded(request, run, error, dialect="sigma")


@router.get("/processes", openapi_extra=query("process_name"), **answers(SigmaError, ERRORS))
async def listing(request: Request) -> Response:
    async def run() -> Response:
        name = request.query_params.get("process_name")
        return Json({"processes": await _processes(request).listing(name)})
    return await _handle(request, run)


@router.post("/processes", status_code=201, openapi_extra=body_schema(PROCESS),
             **answers(SigmaError, ERRORS, success={201: "Created (Location names it)"}))
async def create(request: Request) -> Response:
    async def run() -> Response:
        created = await _processes(request).create(await json_body(request))
        return Json({"processes": [created]}, status_code=201, headers={"Location": f"/processes/{created['id']}"})
    return await _handle(request, run)


@router.get("/processes/{process_id}", **answers(SigmaError, ERRORS))
async def get(request: Request, process_id: str) -> Response:
    async def run() -> Response:
        return Json({"processes": [await _processes(request).get(process_id)]})
    return await _handle(request, run)


@router.put("/processes/{process_id}", openapi_extra=body_schema({"operation": STRING}),
            **answers(SigmaError, ERRORS))
async def operate(request: Request, process_id: str) -> Response:
    async def run() -> Response:
        body = await json_body(request)
        operation = body.get("operation") if isinstance(body, dict) else None
        if not isinstance(operation, str):
            raise BadRequest('The body must be {"operation": "START" | "SUSPEND" | "RESUME" | "STOP"}')
        return Json(await _processes(request).operate(process_id, operation))
    return await _handle(request, run)


@router.delete("/processes/{process_id}", status_code=204, **answers(SigmaError, ERRORS, success={}, empty=(204,)))
async def delete(request: Request, process_id: str) -> Response:
    async def run() -> Response:
        if await _processes(request).delete(process_id):
            return empty(204)
        status: int = request.app.state.settings.sigma_delete_missing_status
        if status == 404:
            return Json({"id": "not_found", "message": f"Process {process_id} not found"}, status_code=404)
        return empty(204)
    return await _handle(request, run)
