"""How `podium server` runs uvicorn: its options from settings, and an HTTP protocol that bounds how
long (and how much) a client may take to send a request's line and headers.

uvicorn closes a keep-alive connection that stays idle, but it gives a client any time it likes to
send a request: a connection that never sends a byte, or trickles one header every few seconds
(slowloris), is held for good, and enough of them exhaust the process's file descriptors. Here
every request's line and headers must arrive in full within `http_header_timeout_s` (counted from
the connection for its first request, from the request's first byte for the next ones on a kept-
alive connection) and within `MAX_HEADER_BYTES`; otherwise the connection is closed. The body and
the answer are not timed: a request's body is bounded by `max_payload_bytes`, and every wait a
client can ask for is capped where it is served.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from podium.settings import Settings

log = logging.getLogger(__name__)

#: Request line plus headers, in bytes: more is refused with 431 (servers commonly allow 8-64 KiB).
MAX_HEADER_BYTES = 64 * 1024
_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
              b"content-length: 31\r\nconnection: close\r\n\r\nRequest header fields too large")


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus a deadline on each request's line and headers.

    A connection keeps at most one timer, re-armed only when it fires while a request's headers are
    still coming: a request costs a clock read, not a timer set and cancelled (about 2 us)."""

    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._reading_since: float | None = None  # when the headers being read began (None: not reading)
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._begin()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._reading_since is not None:  # a request's headers are still not all there
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self._reading_since = None
                self.transport.write(_TOO_LARGE)
                self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._reading_since is None:  # the first request's deadline runs from the connection
            self._begin()

    def on_headers_complete(self) -> None:
        self._reading_since = None
        super().on_headers_complete()

    def _begin(self) -> None:
        self._reading_since = self.loop.time()
        self._header_bytes = 0
        if self._timer is None:
            self._timer = self.loop.call_later(self.header_timeout_s, self._check)

    def _check(self) -> None:
        self._timer = None
        if self._reading_since is None or self.transport.is_closing():
            return
        left = self._reading_since + self.header_timeout_s - self.loop.time()
        if left > 0:  # a later request's headers: their own deadline
            self._timer = self.loop.call_later(left, self._check)
            return
        log.debug("request headers not received in time; connection closed",
                  extra={"action": "header_timeout", "client": self.client})
        self.transport.close()


def protocol(header_timeout_s: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for uvicorn's `http=` option, with this deadline."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout_s": header_timeout_s})


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host, "port": settings.port, "log_level": settings.log_level,
        "access_log": settings.log_level == "debug", "loop": "uvloop",
        "http": protocol(settings.http_header_timeout_s),
        "limit_concurrency": settings.http_limit_concurrency or None,
        "timeout_graceful_shutdown": 5,
        # longer than clients' own idle limits (httpx: 5 s), so the client, not the server,
        # closes an idle connection
        "timeout_keep_alive": 65,
    }


def exposure_refusal(settings: Settings) -> str | None:
    """Why the server must not start as configured (auth off on an interface others can reach, like
    Redis's protected mode), or None."""
    if settings.auth != "off" or settings.insecure or is_loopback(settings.host):
        return None
    return (f"refusing to serve on {settings.host} with auth off: anyone who reaches the port could read and "
            "change everything. Either turn authentication on (--auth keys, PODIUM_AUTH=keys; make a key with "
            "`podium keys create --role admin`), or accept the risk with --insecure (PODIUM_INSECURE=true).")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
