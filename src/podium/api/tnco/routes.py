"""TNC-O routes (`/api/intent/{name}`, `/api/processes`): parse, call the service, answer; every
error in TNC-O's shape, `{"details": {...}, "localizedMessage": "...", "url": "..."}`, with its
real status code (400 bad input, 404 unknown process or intent)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from podium.api.docs import OBJECT, answers, array, body_schema, query
from podium.api.responses import Json, empty, guarded, json_object
from podium.service.tnco import Lifecycle
from podium.service.tnco_query import BadParameter, filters, flag

router = APIRouter(tags=["tnco"])


class TncoError(BaseModel):
    details: dict[str, Any]
    localizedMessage: str
    url: str


ERRORS = {400: "Bad input", 404: "No such process or intent", 413: "The body is over the configured limit",
          500: "An unexpected failure"}
SEARCH = ("assemblyId", "assemblyName", "assemblyType", "startDateTime", "endDateTime", "processStatuses",
          "intentTypes", "limit")


def _lifecycle(request: Request) -> Lifecycle:
    found: Lifecycle = request.app.state.lifecycle
    return found


async def _handle(request: Request, run: Callable[[], Awaitable[Response]]) -> Response:
    async def work() -> Response:
        try:
            return await run()
        except BadParameter as exc:
            return _error(request, 400, exc.message, exc.details)

    def error(status: int, message: str | None) -> Response:
        return _error(request, status, message or "The request could not be handled", {})

    return await guarded(request, work, error, dialect="tnco")


def _error(request: Request, status: int, message: str, details: dict[str, Any]) -> Response:
    return Json({"details": details, "localizedMessage": message, "url": str(request.url.path)}, status_code=status)


@router.post("/api/intent/{name}", status_code=201, openapi_extra=body_schema(),
             **answers(TncoError, ERRORS, success={}, empty=(201,)))
async def intent(request: Request, name: str) -> Response:
    async def run() -> Response:
        body = await json_object(request, what="The intent body")
        process_id = await _lifecycle(request).intent(name, body)
        response = empty(201)
        response.headers["Location"] = f"/api/processes/{process_id}"
        return response
    return await _handle(request, run)


@router.get("/api/processes/{process_id}", openapi_extra=query("shallow"), **answers(TncoError, ERRORS))
async def get_process(request: Request, process_id: str) -> Response:
    async def run() -> Response:
        shallow = flag(request.query_params, "shallow")
        return Json(await _lifecycle(request).get(process_id, shallow=shallow))
    return await _handle(request, run)


@router.get("/api/processes", openapi_extra=query(*SEARCH), **answers(TncoError, ERRORS, body=array(OBJECT)))
async def search(request: Request) -> Response:
    async def run() -> Response:
        return Json(await _lifecycle(request).search(filters(request.query_params)))
    return await _handle(request, run)
