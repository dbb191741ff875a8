"""HTTP clients of the load: one keep-alive connection per worker coroutine, raw or httpx. Both send
the same extra headers on every request (with `--auth keys`, the token: `auth.token_headers`)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import sys
import types
from typing import Any

import httpx

JSON_HEADERS = {"content-type": "application/json"}


def make_client(base_url: str, connections: int, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=120)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(30.0), headers=headers)


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams: what a lean worker SDK costs.

    It sends a request and reads the response (Content-Length or chunked), nothing else; about
    10x less client CPU per request than httpx, so that the client does not mask the server."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        rest = base_url.split("://", 1)[1].rstrip("/")
        self.hostport = rest
        host, _, port = rest.rpartition(":")
        self.host, self.port = host or rest, int(port or 80)
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes | None = None,
                      content_type: str = "application/json") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.hostport}\r\n{self.extra}"
        if body is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        try:
            self.writer.write(head.encode() + b"\r\n" + (body or b""))
            status, payload, close = await self._response()
        except BaseException:
            await self.aclose()
            raise
        if close:
            await self.aclose()
        return status, payload

    async def _response(self) -> tuple[int, bytes, bool]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head[:-4].split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            key, _, value = line.partition(b":")
            key = key.strip().lower()
            if key == b"content-length":
                length = int(value)
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif key == b"connection":
                close = value.strip().lower() == b"close"
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    while data != b"\r\n":  # trailers
                        data = await self.reader.readuntil(b"\r\n")
                    break
                parts.append(data[:-2])
            return status, b"".join(parts), close
        if length is not None:
            return status, await self.reader.readexactly(length), close
        if status in (204, 304) or status < 200:
            return status, b"", close
        return status, await self.reader.read(), True

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class HttpxConnection:
    """The same interface over httpx.AsyncClient (its own pool of one keep-alive connection: a shared
    pool costs more CPU per request as concurrency grows)."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.client = make_client(base_url, 1, headers)

    async def request(self, method: str, path: str, body: bytes | None = None,
                      content_type: str = "application/json") -> tuple[int, bytes]:
        headers = None if body is None else JSON_HEADERS if content_type == "application/json" else {
            "content-type": content_type}
        r = await self.client.request(method, path, content=body, headers=headers)
        return r.status_code, r.content

    async def aclose(self) -> None:
        await self.client.aclose()


def sniffio_shim() -> bool:
    """httpcore calls `import sniffio` on every request; without sniffio installed (anyio 4.x no longer
    pulls it in) each call is a failed import that searches sys.path, ~1 ms per request. Stand in
    for it (asyncio only) so httpx measures httpx. Returns True if the shim was needed."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        shim = types.ModuleType("sniffio")

        class AsyncLibraryNotFoundError(RuntimeError):
            pass

        shim.AsyncLibraryNotFoundError = AsyncLibraryNotFoundError  # type: ignore[attr-defined]
        shim.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
        sys.modules["sniffio"] = shim
        return True
    return False


Connection = RawConnection | HttpxConnection


def connector(kind: str, base_urls: str | list[str], headers: dict[str, str] | None = None) -> Any:
    """A factory of connections, each sending `headers` on every request. Given several servers'
    URLs, each new connection goes to the next one in turn, so that the pollers and the start lanes
    spread round-robin over the servers."""
    urls = itertools.cycle([base_urls] if isinstance(base_urls, str) else base_urls)
    cls = HttpxConnection if kind == "httpx" else RawConnection
    return lambda: cls(next(urls), headers)
