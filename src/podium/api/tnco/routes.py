"""TNC-O routes (`/api/intent/{name}`, `/api/processes`): parse, call the service, answer; every
error in TNC-O's shape, `{"details": {...}, "localizedMessage": "...", "url": "..."}`, with its
real status code (400 bad input, 404 unknown process or intent)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from podium.api.docs import OBJECT, answers, array, body_schema, query
from podium.api.responses import Json, empty, guarded, json_object
from podium.errors import BadRequest
from podium.service.tnco import INTENT_TYPES, STATUSES, Lifecycle
from podium.store.tnco import Filters

router = APIRouter(tags=["tnco"])


class TncoError(BaseModel):
    details: dict[str, Any]
    localizedMessage: str
    url: str


ERRORS = {400: "Bad input", 404: "No such process or intent", 413: "The body is over the configured limit",
          500: "An unexpected failure"}
SEARCH = ("assemblyId", "assemblyName", "assemblyType", "startDateTime", "endDateTime", "processStatuses",
          "intentTypes", "limit")


class BadParameter(BadRequest):
    def __init__(self, name: str, value: str, message: str) -> None:
        super().__init__(message)
        self.details = {"parameter": name, "value": value}


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
        shallow = _flag(request.query_params, "shallow")
        return Json(await _lifecycle(request).get(process_id, shallow=shallow))
    return await _handle(request, run)


@router.get("/api/processes", openapi_extra=query(*SEARCH), **answers(TncoError, ERRORS, body=array(OBJECT)))
async def search(request: Request) -> Response:
    async def run() -> Response:
        return Json(await _lifecycle(request).search(filters(request.query_params)))
    return await _handle(request, run)


def filters(q: QueryParams) -> Filters:
    def text(name: str) -> str | None:
        return q.get(name) or None

    return Filters(assembly_id=text("assemblyId"), assembly_name=text("assemblyName"),
                   assembly_type=text("assemblyType"), started_after=_time(q, "startDateTime"),
                   ended_before=_time(q, "endDateTime"), statuses=_listed(q, "processStatuses", STATUSES),
                   intent_types=_listed(q, "intentTypes", sorted(INTENT_TYPES)), limit=_limit(q))


def _time(q: QueryParams, name: str) -> int | None:
    raw = q.get(name)
    if not raw:
        return None
    for text in (raw.strip(), raw.strip().replace(" ", "+")):  # an unencoded `+01:00` arrives as ` 01:00`
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    raise BadParameter(name, raw, f"{name} must be an ISO 8601 date and time, e.g. 2018-08-08T16:00:00+01:00; "
                                  f"got {raw!r}")


def _listed(q: QueryParams, name: str, allowed: Any) -> tuple[str, ...]:
    raw = q.get(name)
    if raw is None:
        return ()
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise BadParameter(name, raw, f"Unknown value(s) in {name}: {', '.join(unknown)} "
                                      f"(allowed, case-sensitive: {', '.join(allowed)})")
    return values


def _limit(q: QueryParams) -> int | None:
    raw = q.get("limit")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise BadParameter("limit", raw, f"limit must be a positive whole number, got {raw!r}")
    return value


def _flag(q: QueryParams, name: str) -> bool:
    raw = (q.get(name) or "false").lower()
    if raw not in ("true", "false"):
        raise BadParameter(name, raw, f"{name} must be true or false")
    return raw == "true"
