"""The route class of every Conductor router: what each `/api` route does before and after FastAPI.

Before: a state-changing request that is not JSON, or that a browser sent from another site, is
refused (`media.check`: 415, 403); the JSON body is read with Podium's parser (`jsonbody.loads`:
no depth, integers or NUL characters that could not be kept), and path and query parameters
holding a NUL character are refused, each in Conductor's error shape. After: an unexpected failure
is rendered as Conductor's 500 here, inside the route, where it used to leave the app through
Starlette's ServerErrorMiddleware, which re-raises it, so uvicorn logged it again and closed the
connection.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from podium.api import jsonbody, media
from podium.api.conductor.errors import unexpected
from podium.errors import PodiumError


class JsonRequest(Request):
    """Starlette's request, with `json()` through Podium's parser."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = jsonbody.loads(await self.body())
        return self._json


class ConductorRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        reads_json = self.body_field is not None

        async def route(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            try:
                media.check(request.scope)
                jsonbody.check_text(*request.path_params.values(), *request.query_params.values())
                if reads_json and _is_json(request) and await request.body():
                    await request.json()  # its errors are ours to render, not FastAPI's generic 400
                return await handler(request)
            except (PodiumError, HTTPException, RequestValidationError):
                raise  # rendered by the app's handlers (api.conductor.errors.install)
            except Exception as exc:
                return await unexpected(request, exc)

        return route


def _is_json(request: Request) -> bool:
    """Whether FastAPI would read the body as JSON: no content type, or `application/json` or `+json`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return not kind or kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))
