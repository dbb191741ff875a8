"""The BBS routes: parse the request as upstream validates it, call one service function, render.
Every route is POST and answers HTTP 200, in protobuf or JSON (see `body` and `wire`); the event
stream is Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from podium.api import media
from podium.api.bbs import wire
from podium.api.bbs.body import Fields, handle
from podium.api.docs import BOOLEAN, INTEGER, OBJECT, STRING, JsonSchema, answers, body_schema
from podium.model.bbs import BbsError, ErrorType, check_cell_id, check_definition, invalid_field
from podium.service.bbs import Bbs
from podium.service.bbs.feed import follow, position

router = APIRouter(tags=["bbs"])
KEEPALIVE_EVERY = 15  # idle waits (of about a second) between keep-alive comments on the stream
MAX_OFFER_WAIT_MS = 60_000
GUID = {"task_guid": STRING}


class ErrorBody(BaseModel):
    type: str
    message: str


class Refusal(BaseModel):
    error: ErrorBody


REFUSED = {413: "Refused: the body is over the configured limit",
           403: "Refused: a browser page of another site sent it (its Origin is not this server's)",
           415: "Refused: the body is neither JSON nor protobuf (Content-Type)"}


def doc(properties: dict[str, JsonSchema]) -> dict[str, Any]:
    """A BBS route's documentation: its JSON body (or the upstream protobuf message, `wire`); every
    answer is HTTP 200 (a failure is its `error`), but a request refused before it is read: a body
    over the configured limit (413) and `api.media`'s refusals (403, 415), with the same `error`."""
    documented = answers(Refusal, {}, success={200: "The answer, or {error: {type, message}} on failure"})
    documented["responses"] |= {status: {"model": Refusal, "description": text} for status, text in REFUSED.items()}
    return {"openapi_extra": body_schema(properties), **documented}


def _bbs(request: Request) -> Bbs:
    found: Bbs = request.app.state.bbs
    return found


@router.post("/v1/tasks/desire.r2", **doc({**GUID, "domain": STRING, "task_definition": OBJECT}))
async def desire(request: Request) -> Response:
    async def run(f: Fields) -> dict[str, Any]:
        guid, domain = f.guid(), f.required("domain")
        definition = f.obj("task_definition")
        f.check(check_definition(definition) if definition is not None else [invalid_field("task_definition")])
        await _bbs(request).tasks.desire(guid, domain, definition or {})
        return {}
    return await handle(request, run)


@router.post("/v1/tasks/list.r3", **doc({"domain": STRING, "cell_id": STRING}))
async def tasks(request: Request) -> Response:
    async def run(f: Fields) -> dict[str, Any]:
        found = await _bbs(request).tasks.listing(f.text("domain"), f.text("cell_id"))
        return {"tasks": [t.to_wire() for t in found]}
    return await handle(request, run)


@router.post("/v1/tasks/get_by_task_guid.r3", **doc(GUID))
async def task_by_guid(request: Request) -> Response:
    async def run(f: Fields) -> dict[str, Any]:
        guid = f.guid(pattern=False)
        f.check()
        return {"task": (await _bbs(request).tasks.get(guid)).to_wire()}
    return await handle(request, run)


@router.post("/v1/tasks/start", **doc({**GUID, "cell_id": STRING}))
async def start(request: Request) -> Response:
    async def run(f: Fields) -> dict[str, Any]:
        guid, cell_id = f.guid(), f.required("cell_id")
        f.check()
        return {"should_start": await _bbs(request).tasks.start(guid, cell_id)}
    return await handle(request, run, on_error={"should_start": False})


@router.post("/v1/tasks/complete", **doc({**GUID, "cell_id": STRING, "failed": BOOLEAN,
                                               "failure_reason": STRING, "result": STRING}))
async def complete(request: Request) -> Response:
    async def run(f: Fields) -> dict[str, Any]:
        guid, cell_id = f.guid(), f.required("cell_id")
        failed, reason, result = f.flag("failed"), f.text("failure_reason"), f.text("result")
        f.check()
        await _bbs(request).tasks.complete(guid, cell_id, failed, reason, result)
        return {}
    return await handle(request, run)


@router.post("/v1/tasks/fail", **doc({**GUID, "failure_reason": STRING}))
async def fail(request: Request) -> Response:
    async def run(f: Fields) -> dict[str, Any]:
        guid, reason = f.guid(), f.required("failure_reason")
        f.check()
        await _bbs(request).tasks.fail(guid, reason)
        return {}
    return await handle(request, run)


@router.post("/v1/tasks/reject", **doc({**GUID, "rejection_reason": STRING}))
async def reject(request: Request) -> Response:
    async def run(f: Fields) -> dict[str, Any]:
        guid = f.guid()
        reason = f.required("rejection_reason", reported_as="failure_reason")  # upstream's quirk
        f.check()
        await _bbs(request).tasks.reject(guid, reason)
        return {}
    return await handle(request, run)


@router.post("/v1/tasks/cancel", **doc(GUID))
async def cancel(request: Request) -> Response:
    return await _by_guid(request, "cancel")


@router.post("/v1/tasks/resolving", **doc(GUID))
async def resolving(request: Request) -> Response:
    return await _by_guid(request, "resolving")


@router.post("/v1/tasks/delete", **doc(GUID))
async def delete(request: Request) -> Response:
    return await _by_guid(request, "delete")


async def _by_guid(request: Request, operation: str) -> Response:
    async def run(f: Fields) -> dict[str, Any]:
        guid = f.guid(pattern=False)
        f.check()
        await getattr(_bbs(request).tasks, operation)(guid)
        return {}
    return await handle(request, run)


@router.post("/v1/tasks/offers", **doc({"domain": STRING, "cell_id": STRING, "count": INTEGER,
                                             "timeout_ms": {**INTEGER, "maximum": MAX_OFFER_WAIT_MS}}))
async def offers(request: Request) -> Response:
    """Podium's addition (pull placement): Pending tasks of a domain reserved to the asking cell."""
    async def run(f: Fields) -> dict[str, Any]:
        domain, cell_id = f.required("domain"), f.required("cell_id")
        count, timeout_ms = f.number("count", 1), f.number("timeout_ms", 0)
        f.check()
        check_cell_id(cell_id)
        found = await _bbs(request).tasks.offers(domain, cell_id, count, min(max(timeout_ms, 0), MAX_OFFER_WAIT_MS),
                                                 gone=request.is_disconnected)
        return {"tasks": [t.to_wire() for t in found]}
    return await handle(request, run)


@router.post("/v1/cells/heartbeat", **doc({"cell_id": STRING, "ttl_seconds": INTEGER}))
async def heartbeat(request: Request) -> Response:
    """Podium's addition: a cell says it is present for `ttl_seconds`."""
    async def run(f: Fields) -> dict[str, Any]:
        cell_id = f.required("cell_id")
        ttl = f.number("ttl_seconds", 0)
        f.check([invalid_field("ttl_seconds")] if ttl < 0 else [])
        await _bbs(request).cells.heartbeat(cell_id, ttl * 1000 or None)
        return {}
    return await handle(request, run)


@router.post("/v1/cells/list.r1", **doc({}))
async def cells(request: Request) -> Response:
    async def run(f: Fields) -> dict[str, Any]:
        present = await _bbs(request).cells.present()
        return {"cells": [{"cell_id": cell, "expires_at": expires * 1_000_000} for cell, expires in present]}
    return await handle(request, run)


EVENTS_DOC: dict[str, Any] = {
    "response_class": StreamingResponse,
    "responses": {200: {"description": "Task events (Server-Sent Events): each event's data is the base64 of its "
                                       "protobuf message, as upstream sends it, or its JSON when the request says "
                                       "`Accept: application/json`",
                        "content": {"text/event-stream": {}}}}}


@router.get("/v1/events/tasks.r1", **EVENTS_DOC)
async def task_events(request: Request) -> Response:
    return _events(request)


@router.post("/v1/events/tasks.r1", **EVENTS_DOC)
async def task_events_posted(request: Request) -> Response:
    """As upstream's Go client opens the stream: a POST whose body (an `EventsByCellId` naming no cell,
    so empty) is not read."""
    try:
        media.check(request.scope, protobuf=True)
    except (media.UnsupportedMediaType, media.ForeignOrigin) as exc:
        refused = {"error": BbsError(ErrorType.INVALID_REQUEST, exc.message).to_wire()}
        return wire.render(request.scope["path"], refused, protobuf=wire.is_protobuf(request.scope), status=exc.status)
    return _events(request)


def _events(request: Request) -> Response:
    return StreamingResponse(_stream(request, json=wire.wants_json_events(request.scope)),
                             media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _stream(request: Request, *, json: bool) -> AsyncIterator[bytes]:
    x = _bbs(request).x
    floor = await position(x)
    yield b": task events\n\n"  # the stream is open: every event from here on follows
    idle = 0
    async for event in follow(x, floor):
        if event is not None:
            idle = 0
            data = wire.event_data(event.kind, event.body, json=json)
            yield f"id: {event.seq}\nevent: {event.kind}\ndata: {data}\n\n".encode()
            continue
        if await request.is_disconnected():
            return
        idle += 1
        if idle >= KEEPALIVE_EVERY:
            idle = 0
            yield b": keep-alive\n\n"


#: The BBS calls on the lane (`api.lane`), served before FastAPI's router: every route above but the
#: event stream (one long call per reader), on the same endpoint functions.
LANE = [Route(r.path, r.endpoint, methods=sorted(r.methods)) for r in router.routes
        if isinstance(r, APIRoute) and not r.path.startswith("/v1/events/")]
