"""The lane: the calls a dialect's workers make once per task, served before FastAPI's router,
which costs more per request than the rest of the call.

Pure ASGI, installed as the innermost middleware (the audit trail, the guard, the body limit and
the browser checks outside it see every call as before). Each dialect lists its lane's routes
(`api.conductor.lane`, `api.bbs.routes.LANE`): Starlette routes on the same handlers as its
documented FastAPI routes, which stay in place for OpenAPI and as a fallback. A route of the lane
is matched as Starlette's router matches it; the lane leaves the scope as FastAPI would (the path
parameters, `route`: the audit trail and metrics read its template). A call the lane does not
claim (another method, a parameter value that names a literal route beside the template) goes on
to the router.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

NONE: list[Route] = []


class Lane:
    def __init__(self, app: ASGIApp, *, routes: Sequence[Route],
                 left_to_router: Mapping[str, Collection[str]] | None = None) -> None:
        """`left_to_router`: path parameter values, by parameter name, whose path belongs to a
        literal route of the router (`POST /api/workflow/test` is not `/api/workflow/{name}`)."""
        self.app = app
        self.left = dict(left_to_router or {})
        self.literal: dict[str, list[Route]] = {}  # looked up by path: a call off the lane pays no regex
        self.templated: list[Route] = []
        for route in routes:
            if route.param_convertors:
                self.templated.append(route)
            else:
                self.literal.setdefault(route.path, []).append(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._claim(scope)
            if route is not None:
                await route.handle(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _claim(self, scope: Scope) -> Route | None:
        path: str = scope["path"]
        root = scope.get("root_path")
        if root and path.startswith(root):
            path = path[len(root):]
        for routes in (self.literal.get(path, NONE), self.templated):
            for route in routes:
                match, child = route.matches(scope)
                if match is Match.FULL and not self._left(child["path_params"]):
                    scope.update(child)
                    scope["route"] = route
                    return route
        return None

    def _left(self, params: Mapping[str, object]) -> bool:
        return any(params.get(name) in values for name, values in self.left.items())
