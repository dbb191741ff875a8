"""The guard: a pure ASGI middleware that finds who is calling and whether their role allows the
route, before anything else reads the request.

With `auth = off` every caller is anonymous and may do everything. With `auth = keys` a request
carries a token (`X-Authorization: <token>` as Conductor's clients send it, or `Authorization:
Bearer <token>`; the UI's session cookie on UI pages); the route's access (`podium.auth.access`)
says which roles may call it. A route is found the way the router will find it, once per method and
path (remembered: the worker calls repeat a handful of paths).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from podium.auth.access import Access, access_for, allows
from podium.auth.keys import Keys
from podium.auth.principal import ANONYMOUS, SCOPE_KEY, Principal, Role
from podium.auth.refusal import refuse
from podium.auth.tokens import TokenRefused
from podium.errors import StoreError

SESSION_COOKIE = "podium_session"
NOBODY = Principal(None, "anonymous", Role.VIEWER)  # a caller without a token, on a public route
_DIALECTS = ("bbs", "tango", "tnco", "sigma")
_REMEMBERED = 4096  # (method, path) pairs whose route is remembered


class Guard:
    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute], enabled: bool) -> None:
        self.app = app
        self.routes = routes
        self.enabled = enabled
        self._found: dict[tuple[str, str], tuple[Access, str, BaseRoute | None]] = {}
        self._prefixed: list[tuple[str, BaseRoute]] | None = None  # routes by the fixed start of their path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            if scope["type"] == "http":
                scope[SCOPE_KEY] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        access, dialect, route = self.route_of(scope)
        token = _token(scope)
        if access is Access.PUBLIC and token is None:
            scope[SCOPE_KEY] = NOBODY
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if token is None:
            await refuse(send, dialect, 401, "This call needs a token: get one from POST /api/token with an API "
                         "key, and send it as X-Authorization", path)
            return
        keys: Keys = scope["app"].state.keys
        try:
            principal = await keys.check(token)
        except StoreError:  # the key's state could not be read: neither let in nor call the token bad
            await refuse(send, dialect, 503, "The database cannot be reached to check the token; try again", path,
                         code="SERVICE_UNAVAILABLE")
            return
        except TokenRefused as exc:
            if access is Access.PUBLIC:  # a stale token does not keep anyone from the login page
                scope[SCOPE_KEY] = NOBODY
                await self.app(scope, receive, send)
                return
            await refuse(send, dialect, 401, exc.message, path, code=exc.code)
            return
        if not allows(principal.role, access):
            scope[SCOPE_KEY] = principal
            _routed(scope, route)  # the audit trail records who tried what
            await refuse(send, dialect, 403, f"The role {principal.role.value} may not call {scope['method']} "
                         f"{path} (it needs {access.value} access)", path)
            return
        scope[SCOPE_KEY] = principal
        await self.app(scope, receive, send)

    def route_of(self, scope: Scope) -> tuple[Access, str, BaseRoute | None]:
        """The access the request needs, the dialect that answers it and its route (if any)."""
        key = (scope["method"], scope["path"])
        found = self._found.get(key)
        if found is None:
            found = self._match(scope)
            if len(self._found) >= _REMEMBERED:
                self._found.clear()
            self._found[key] = found
        return found

    def _match(self, scope: Scope) -> tuple[Access, str, BaseRoute | None]:
        """The route as the router finds it: the first full match in order; only routes whose path
        could match (its fixed start is the path's) are tried, so a path with an id costs a few
        regular expressions, not every route's."""
        if self._prefixed is None:  # the routes are all there by the first request
            self._prefixed = [(str(getattr(r, "path", "")).split("{", 1)[0], r) for r in self.routes]
        path = scope["path"]
        partial: BaseRoute | None = None
        for prefix, route in self._prefixed:
            if not path.startswith(prefix):
                continue
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return self._describe(scope["method"], route)
            if match is Match.PARTIAL and partial is None:
                partial = route
        if partial is not None:  # the path is known, the method is not: the router answers 405
            return self._describe(scope["method"], partial)
        dialect = "ui" if scope["path"].startswith("/ui") else "conductor"
        return Access.WORKER_READ, dialect, None  # no such route: any good token gets the router's 404

    @staticmethod
    def _describe(method: str, route: BaseRoute) -> tuple[Access, str, BaseRoute]:
        template = str(getattr(route, "path", ""))
        tags = getattr(route, "tags", None) or []
        dialect = next((t for t in _DIALECTS if t in tags), "ui" if template.startswith("/ui") else "conductor")
        return access_for(method, template), dialect, route


def _routed(scope: Scope, route: BaseRoute | None) -> None:
    """The scope as the router would leave it for this route (its path parameters, the route)."""
    if route is not None:
        match, child = route.matches(scope)
        if match is not Match.NONE:
            scope.update(child)
            scope["route"] = route


def _token(scope: Scope) -> str | None:
    cookie = None
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"x-authorization" and value:
            return str(value.decode("latin-1"))
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return str(value[7:].decode("latin-1").strip())
        if name == b"cookie":
            cookie = value
    if cookie is not None and scope["path"].startswith("/ui"):
        return _cookie(bytes(cookie).decode("latin-1"), SESSION_COOKIE)
    return None


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None
