"""Fast responses shared by the dialects: JSON through orjson, plain text, empty bodies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from podium.errors import BadRequest, PodiumError

log = logging.getLogger(__name__)


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def text(value: str | int, status_code: int = 200) -> Response:
    return Response(str(value), status_code=status_code, media_type="text/plain")


def empty(status_code: int = 200) -> Response:
    return Response(b"", status_code=status_code)


async def guarded(run: Callable[[], Awaitable[Response]], error: Callable[[int, str | None], Response], *,
                  dialect: str, path: str) -> Response:
    """A route's work, with its failures in the dialect's own error shape (`error(status, message)`):
    400, 404 and 409 keep their status; any other Podium error, and anything unexpected (logged
    here, message None), is a 500."""
    try:
        return await run()
    except PodiumError as exc:
        return error(exc.status if exc.status in (400, 404, 409) else 500, exc.message)
    except Exception:
        log.exception("request failed", extra={"action": f"{dialect}_request_error", "path": path})
        return error(500, None)


async def json_body(request: Request, *, what: str = "The body", empty: Any = None) -> Any:
    """The request's JSON (`empty` for no body); a 400 in the dialect's words when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return empty
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"{what} is not valid JSON") from exc


async def json_object(request: Request, *, what: str = "The body", empty: Any = None) -> dict[str, Any]:
    """The request's JSON, which must be an object."""
    data = await json_body(request, what=what, empty=empty)
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return data
