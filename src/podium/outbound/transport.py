"""The shared outbound HTTP client, whose every connection obeys the OutboundPolicy.

The check sits where the connection is made, in an httpcore network backend: ``connect_tcp`` judges
the host (an IP literal, in any spelling, is judged at once), resolves a name once
(``loop.getaddrinfo``), judges every address it resolved to, and connects to one of those very
addresses. No second lookup happens between check and connect, so a name cannot resolve to a
permitted address for the check and to another for the connection. The request keeps the URL's
host: its Host header, TLS SNI and certificate verification are the name's.

A refused connection raises ``OutboundRefused`` (podium.errors) out of the client's call, before any
packet is sent to the target; callers catch it beside ``httpx.HTTPError``. Redirects are never
followed (each hop would need its own check), the environment is ignored (no proxy variables, no
~/.netrc), and no cookies are kept (one workflow's session must not reach another's calls).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpcore
import httpx

from podium.errors import OutboundRefused
from podium.outbound.policy import IPAddress, OutboundPolicy, parse_literal

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """The addresses a name resolves to, in the resolver's order, each once."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PolicedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy permits (httpcore calls ``connect_tcp`` for each new
    connection; a pooled connection was checked when it was opened)."""

    def __init__(self, policy: OutboundPolicy, resolver: Resolver = resolve,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        addresses = await self.checked_addresses(host, port, timeout)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(address, port, timeout=_left(deadline),
                                                    local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # checked_addresses never answers an empty list
        raise failure

    async def checked_addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The addresses to connect to, every one permitted; OutboundRefused if any is not."""
        self._judge(host, None)
        literal = parse_literal(host)
        if literal is not None:
            return [str(literal)]
        found = await self._resolve(host, port, timeout)
        for address in found:
            self._judge(host, ipaddress.ip_address(address.split("%", 1)[0]))
        return found

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        try:
            found = await asyncio.wait_for(self.resolver(host, port), timeout)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not found:
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        return found

    def _judge(self, host: str, address: IPAddress | None) -> None:
        refusal = self.policy.check_host(host) if address is None else self.policy.check_address(host, address)
        if refusal is None:
            return
        log.warning("outbound call refused", extra={"action": "outbound_refused", "host": host,
                                                    "address": None if address is None else str(address),
                                                    "reason": str(refusal)})
        raise OutboundRefused(refusal)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(deadline - asyncio.get_running_loop().time(), 0.0)


@functools.cache
def _tls() -> ssl.SSLContext:
    """The TLS settings of every outbound call (certificates verified against the system's
    authorities), made once: loading the authorities takes about 35 ms, and a context may serve any
    number of connections and clients."""
    return httpx.create_ssl_context(trust_env=False)


def new_client(policy: OutboundPolicy, max_connections: int = 100, *, resolver: Resolver = resolve,
               inner: httpcore.AsyncNetworkBackend | None = None) -> httpx.AsyncClient:
    """The client every outbound call of the server shares. Per-request timeouts come from callers.
    (``resolver`` and ``inner``, the backend that makes the checked connection, are for tests.)"""
    limits = httpx.Limits(max_connections=max_connections)
    transport = httpx.AsyncHTTPTransport(verify=_tls(), trust_env=False, limits=limits)
    # httpx (up to 0.28) takes no network backend: the pool is rebuilt with the transport's own
    # settings and ours. httpx.AsyncHTTPTransport keeps its pool as `_pool`, its only state.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_tls(),
        max_connections=limits.max_connections, max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry, network_backend=PolicedBackend(policy, resolver, inner))
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.AsyncClient(transport=transport, cookies=no_cookies, trust_env=False, follow_redirects=False)
