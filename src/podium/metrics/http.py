"""`podium_http_request_duration_seconds{method,route,status}`: a pure ASGI middleware that times each
HTTP request, from its arrival to the end of its answer, labelled by the route's template
(`/api/workflow/{workflowId}`), never the raw path.

The template is read from the scope once the router has matched (FastAPI leaves the route there;
a mount, such as the UI's static files, is labelled by its prefix). A request that no route took
(an unknown path, or one refused before routing: 401, 403, 413) is labelled `UNMATCHED`.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.metrics.families import Metrics

UNMATCHED = "unmatched"
_STATUS = {code: str(code) for code in range(100, 600)}


class RequestTimer:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # an answer that never started

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        root = scope.get("root_path", "")
        try:
            await self.app(scope, receive, sending)
        finally:
            took = time.perf_counter() - began
            self.metrics.http.observe(took, scope["method"], _route(scope, root), _STATUS.get(status) or str(status))


def _route(scope: Scope, root: str) -> str:
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", UNMATCHED))
    mounted = scope.get("root_path", "")
    if mounted != root and "endpoint" in scope:
        return f"{mounted}/{{path}}"
    return UNMATCHED
