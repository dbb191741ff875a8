"""The guard's 401, 403 and 429 answers, each in the shape of the dialect the route belongs to.

Conductor's carries `error` (EXPIRED_TOKEN or INVALID_TOKEN on a 401): conductor-python and the
JavaScript SDK read that word to fetch a new token and repeat the call. The UI sends a browser
without a session to its login page.
"""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import quote

import orjson
from starlette.types import Send

INSTANCE = socket.gethostname()
_SIGMA_IDS = {401: "unauthorized", 403: "forbidden", 429: "too_many_requests", 503: "service_unavailable"}
_CONDUCTOR_WORDS = {401: "INVALID_TOKEN", 403: "ACCESS_DENIED", 429: "TOO_MANY_REQUESTS"}


def body_for(dialect: str, status: int, message: str, path: str, code: str | None = None) -> dict[str, Any]:
    if dialect == "bbs":
        return {"error": {"type": "UnknownError", "message": message}}
    if dialect == "tango":
        return {"status": status, "message": message}
    if dialect == "sigma":
        return {"id": _SIGMA_IDS.get(status, "forbidden"), "message": message}
    if dialect == "tnco":
        return {"details": {}, "localizedMessage": message, "url": path}
    return {"status": status, "message": message, "instance": INSTANCE, "retryable": status == 503,
            "error": code or _CONDUCTOR_WORDS.get(status, "ACCESS_DENIED")}


async def refuse(send: Send, dialect: str, status: int, message: str, path: str, *, code: str | None = None,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    if dialect == "ui":
        await _ui(send, status, message, path)
        return
    await _send(send, status, orjson.dumps(body_for(dialect, status, message, path, code)), b"application/json",
                headers or [])


async def _ui(send: Send, status: int, message: str, path: str) -> None:
    if status == 401:  # to the login page, and back here after it (htmx follows HX-Redirect)
        target = f"/ui/login?next={quote(path, safe='/')}".encode()
        await _send(send, 303, b"", b"text/plain", [(b"location", target), (b"hx-redirect", target)])
        return
    page = (f"<!doctype html><title>Podium: {status}</title><main><h1>{status}</h1><p>{_escape(message)}</p>"
            f"<p><a href=\"/ui\">Podium</a></p></main>").encode()
    await _send(send, status, page, b"text/html; charset=utf-8", [])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _send(send: Send, status: int, body: bytes, media: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})
