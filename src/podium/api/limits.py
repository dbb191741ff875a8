"""A pure ASGI middleware that refuses request bodies over the configured size with 413.

A body whose Content-Length is over the limit is refused before any route sees it; one under it
goes through uncounted (the HTTP server reads no more than the length declared). A body without one
(chunked) is counted, and found too large while a route reads it: the read raises `BodyTooLarge`, a
`PayloadTooLarge` that each dialect renders as its own 413 (no traceback: it is not a fault); any
other answer the route gives then (a framework's 400, BBS's HTTP 200) is replaced by the 413."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Mapping

import orjson
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.errors import PayloadTooLarge

INSTANCE = socket.gethostname()

#: A dialect's own rendering of the refusal: (scope, message) -> (Content-Type, body).
Refusal = Callable[[Scope, str], tuple[bytes, bytes]]


class BodyLimit:
    """`refusals` maps a path prefix to its dialect's rendering of the 413; other paths get
    Conductor's shape."""

    def __init__(self, app: ASGIApp, max_bytes: int, refusals: Mapping[str, Refusal] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refusals = dict(refusals or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                await self._refuse(scope, send)
                return
            if b"transfer-encoding" not in headers:  # the server reads no more than the length declared
                await self.app(scope, receive, send)
                return
        seen = 0
        exceeded = passed = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                exceeded = True
                raise BodyTooLarge(self.message)
            return message

        async def unless_exceeded(message: Message) -> None:
            nonlocal passed
            if exceeded and message["type"] == "http.response.start":
                passed = message["status"] == 413  # the dialect's own 413 goes out; anything else not
            if not exceeded or passed:
                await send(message)

        with contextlib.suppress(BodyTooLarge):
            await self.app(scope, counted, unless_exceeded)
        if exceeded and not passed:
            await self._refuse(scope, send)

    @property
    def message(self) -> str:
        return f"Request body is larger than the limit of {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, send: Send) -> None:
        kind, body = b"application/json", b""
        for prefix, render in self.refusals.items():
            if scope["path"].startswith(prefix):
                kind, body = render(scope, self.message)
        body = body or orjson.dumps({"status": 413, "instance": INSTANCE, "retryable": False, "message": self.message})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", kind),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class LimitError(BaseModel):
    """The body of the 413 this middleware answers itself (documentation)."""

    status: int
    message: str
    instance: str
    retryable: bool


class BodyTooLarge(PayloadTooLarge):
    """Raised by the request body's reader once the body has passed the limit."""
