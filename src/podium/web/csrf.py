"""CSRF protection for the web UI (`/ui`), in every auth mode: a pure ASGI middleware.

Every browser gets a random token in the cookie `podium_csrf` (HttpOnly, SameSite=Lax, path `/ui`,
Secure over HTTPS), set on the first UI answer it receives. The pages carry the same token: in a
`<meta name="podium-csrf">` that `podium.js` sends as the header `X-Podium-CSRF` on every htmx
request, and in a hidden `_csrf` field of every form. Each POST, PUT, PATCH and DELETE under `/ui`
must then pass two checks, or get a 403 page that says why:

1. **Origin.** Its `Origin` header, or else the origin of its `Referer`, must be the server's own
   (`web.origin`) or a `trusted_origins` entry. A request with neither header (an old browser, a
   privacy extension) is judged by the token alone.
2. **Token.** The header, or else the form's `_csrf` field (the body is read here and handed on
   unchanged), must equal the cookie, compared in constant time. A request whose Cookie header
   holds two `podium_csrf` cookies (one planted for a narrower path) is refused too.

A page of another site can make the browser send the cookie (another port of the same host is
even the same site) but can neither read it nor the page's token, and its requests carry its own
Origin. Cookies do not keep ports apart, though: a server on another port of the same host can
overwrite the cookie, so against that neighbour the Origin check is what holds.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Collection, Mapping
from html import escape
from typing import Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.web import origin

log = logging.getLogger(__name__)

COOKIE = "podium_csrf"
HEADER = "x-podium-csrf"
FIELD = "_csrf"
SCOPE_KEY = "podium.csrf"
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM = "application/x-www-form-urlencoded"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_IN_COOKIE = re.compile(rf"(?:^|;)\s*{COOKIE}=([^;]*)")

FOREIGN = ("The request came from a page of another site, so Podium refused it: its UI only takes actions "
           "from its own pages.")
STALE = ("The page's security token is missing or out of date, so the action was refused. "
         "Reload the page and try again.")


def token_of(scope: Mapping[str, Any]) -> str:
    """The token the pages of this request carry (set by the middleware)."""
    found: str = scope.get(SCOPE_KEY, "")
    return found


class CsrfGuard:
    def __init__(self, app: ASGIApp, *, prefix: str = "/ui", trusted_origins: Collection[str] = ()) -> None:
        self.app = app
        self.prefix = prefix
        self.trusted = frozenset(trusted_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookie = _cookie(headers)
        scope[SCOPE_KEY] = cookie or secrets.token_urlsafe(32)
        if cookie is None:
            send = _setting_cookie(send, scope[SCOPE_KEY], secure=scope.get("scheme") == "https")
        if scope["method"] in CHANGES:
            why, receive = await self._refusal(scope, headers, cookie, receive)
            if why is not None:
                log.warning("UI request refused", extra={"action": "csrf_refused", "path": path, "reason": why})
                await _refuse(headers, why, send)
                return
        await self.app(scope, receive, send)

    async def _refusal(self, scope: Scope, headers: Headers, cookie: str | None,
                       receive: Receive) -> tuple[str | None, Receive]:
        """Why the request is refused (None: it is not), and the receive that replays its body."""
        sent_from = headers.get("origin") or headers.get("referer")
        if sent_from is not None and not origin.is_ours(scope, sent_from, self.trusted):
            return FOREIGN, receive
        if cookie is None:
            return STALE, receive
        given = headers.get(HEADER)
        if given is None and headers.get("content-type", "").split(";")[0].strip().lower() == FORM:
            body, receive = await _read(receive)
            given = next(iter(parse_qs(body.decode("utf-8", "replace")).get(FIELD, [])), None)
        if given is None or not hmac.compare_digest(given.encode(), cookie.encode()):
            return STALE, receive
        return None, receive


def _cookie(headers: Headers) -> str | None:
    """The one well-formed token cookie, None when there is none, or several."""
    found = [m.group(1).strip() for raw in headers.getlist("cookie") for m in _IN_COOKIE.finditer(raw)]
    return found[0] if len(found) == 1 and _TOKEN.fullmatch(found[0]) else None


def _setting_cookie(send: Send, token: str, *, secure: bool) -> Send:
    value = f"{COOKIE}={token}; Path=/ui; SameSite=Lax; HttpOnly" + ("; Secure" if secure else "")

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), (b"set-cookie", value.encode())]}
        await send(message)

    return sending


async def _read(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a receive that gives it again, then what the client sends next."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _refuse(headers: Headers, why: str, send: Send) -> None:
    """A 403 page that says why; an htmx request shows the message at the top of the page's main."""
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Refused · Podium</title>'
            f'<link rel="stylesheet" href="/ui/static/podium.css"></head><body><main id="main">'
            f'<h1>Action refused</h1><p id="refused" class="error" role="alert">{escape(why)}</p>'
            f'<p><a href="/ui">Back to Podium</a></p></main></body></html>').encode()
    extra = [(b"hx-retarget", b"#main"), (b"hx-reswap", b"afterbegin"),
             (b"hx-reselect", b"#refused")] if headers.get("hx-request") == "true" else []
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(page)).encode()), *extra]})
    await send({"type": "http.response.body", "body": page})
