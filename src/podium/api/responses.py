"""Fast responses shared by the dialects: JSON through orjson, plain text, empty bodies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from podium.api import jsonbody, media
from podium.errors import BadRequest, PodiumError

log = logging.getLogger(__name__)
KEPT = frozenset({400, 403, 404, 409, 413, 415})  # statuses `guarded` answers as they are


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def text(value: str | int, status_code: int = 200) -> Response:
    return Response(str(value), status_code=status_code, media_type="text/plain")


def empty(status_code: int = 200) -> Response:
    return Response(b"", status_code=status_code)


async def guarded(request: Request, run: Callable[[], Awaitable[Response]],
                  error: Callable[[int, str | None], Response], *, dialect: str) -> Response:
    """A route's work, with its failures in the dialect's own error shape (`error(status, message)`):
    a state-changing request that is not JSON or comes from another site's page is a 415 or 403
    (`media.check`); path and query parameters holding a NUL character (text no backend can store)
    are a 400; 400, 403, 404, 409, 413 and 415 keep their status; any other Podium error, and
    anything unexpected (logged here, message None), is a 500."""
    path = request.url.path
    try:
        media.check(request.scope)
        jsonbody.check_text(*request.path_params.values(), *request.query_params.values())
        return await run()
    except PodiumError as exc:
        if exc.status >= 500:
            log.warning("request failed: %s", exc.message, extra={"action": f"{dialect}_request_error", "path": path})
        return error(exc.status if exc.status in KEPT else 500, exc.public_message)
    except Exception:
        log.exception("request failed", extra={"action": f"{dialect}_request_error", "path": path})
        return error(500, None)


async def json_body(request: Request, *, what: str = "The body", empty: Any = None) -> Any:
    """The request's JSON (`empty` for no body); a 400 in the dialect's words when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return empty
    try:
        return jsonbody.loads(raw)
    except jsonbody.BadJson as exc:
        if exc.malformed:
            raise jsonbody.BadJson(f"{what} is not valid JSON", malformed=True) from None
        raise


async def json_object(request: Request, *, what: str = "The body", empty: Any = None) -> dict[str, Any]:
    """The request's JSON, which must be an object."""
    data = await json_body(request, what=what, empty=empty)
    if not isinstance(data, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return data
